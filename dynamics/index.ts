/** The Dataverse Web API client (read-only) and its Entra ID authentication. */
export { DynamicsClient, type DynamicsClientOptions, type IdQuery, type IdQueryOptions } from './client';
export type { DynamicsAuthConfig } from './auth';
export { isFilteredRead, isFirstPageUrl, keyRangeFilter, pageChain, type Page } from './odata';
export {
  ALL_ANNOTATIONS,
  annotationProperty,
  formattedValue,
  lookupLogicalName,
  lookupOf,
  lookupProperty,
  type Annotation,
  type RawRecord,
} from './record';
export {
  ACCOUNTS,
  CONNECTION_ROLE_COLUMNS,
  CONNECTIONS,
  CONTACTS,
  CURRENCY_COLUMNS,
  OPPORTUNITY_COLUMNS,
  opportunityTable,
  type TableSpec,
} from './tables';
export { isGuid, normaliseGuid, toGuid } from './guid';
export { DynamicsError, isDynamicsError, toSafeMessage, type DynamicsErrorCode } from './errors';
export { tallyRequests, type TransportObserver } from './transport';
export type { SharedHold } from './backoff-gate';
