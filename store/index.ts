/**
 * The Marketo store (SPEC section 2) on knex: schema, the one page write path, the push's ledger, and the sync's
 * bookkeeping apart (sync-state.ts).
 */
export { MarketoStore, type StoreOptions, type SyncErrorListing } from './marketo-store';
export type { PendingQueue, SyncState } from './sync-state';
export type { RunWritten } from './run-written';
export { parseStoreUrl } from './url';
export { RUN_LOCK_LEASE_MS } from './run-lock';
export { encodeLastSuccess, LAST_SUCCESS_KEY, type LastSuccess } from './last-success';
export {
  MarketoLedger,
  type LedgerState,
  type LedgerTable,
  type LeadMirrorRow,
  type RoleMirrorRow,
} from './marketo-ledger';
export { readSchemaStatus, type SchemaStatus } from './schema-status';
export { StoreError, type StoreErrorCode } from './errors';
export { redactUrl } from './redact';
export type { RunWrittenInput, StoreSnapshot, WriteCounts, WritePageInput } from './types';
