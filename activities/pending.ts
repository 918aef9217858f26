/**
 * Queued opportunities: those that changed only through their connections or their customer contact (queued by
 * beginSync), read again by id in batches of SYNC_PAGE_SIZE and resolved and written as a page is.
 */
import { tallyRequests } from '../dynamics';
import type { PendingBatchResult, SyncMode } from '../workflows';
import { activityLogger } from './context';
import { toCounts, type SyncContext } from './sync-context';

export function pendingActivities(context: SyncContext) {
  const { store, sync, logger, opportunities } = context;
  return {
    /** Re-resolves queued opportunities that changed only through their connections or customer contact. */
    async syncPendingBatch(input: { syncId: string; mode: SyncMode }): Promise<PendingBatchResult> {
      const log = activityLogger(logger);
      await context.holdRunLock(input.syncId);
      const ids = await store.pending.take(sync.pageSize);
      if (ids.length === 0) return { remaining: 0, counts: {} };
      const { value: read, requests } = await tallyRequests(async () => {
        const records = await context.rowsByIds(opportunities, ids);
        const found = new Set(records.map((r) => String(r.opportunityid).toLowerCase()));
        // A queued opportunity that Dynamics no longer has was deleted.
        const vanished = ids.filter((id) => !found.has(id));
        const resolved = await context.resolveWithRelated(
          context.runs.of(input.syncId),
          records,
          vanished,
          undefined,
        );
        return { records: records.length, vanished: vanished.length, resolved };
      });
      const written = await context.writeResolved(read.resolved);
      await store.pending.remove(ids);
      const remaining = await store.pending.count();
      log.info(
        { syncId: input.syncId, records: read.records, vanished: read.vanished, remaining },
        'queued opportunities written',
      );
      return context.counted({ remaining, counts: toCounts(written, requests, read.resolved.skipped) });
    },
  };
}
