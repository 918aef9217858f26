/** The Dataverse Web API client (read-only) and its Entra ID authentication. */
export { DynamicsClient, type DynamicsClientOptions, type IdQuery, type IdQueryOptions } from './client';
export type { DynamicsAuthConfig } from './auth';
export {
  FORMATTED_VALUE_ANNOTATION,
  keyRangeFilter,
  LOOKUP_TYPE_ANNOTATION,
  RULE_ANNOTATIONS,
  type Page,
} from './odata';
export { lookupOf, formattedValue, type RawRecord } from './annotations';
export { isGuid, normaliseGuid } from './guid';
export { DynamicsError, isDynamicsError, toSafeMessage, type DynamicsErrorCode } from './errors';
export { tallyRequests, type TransportObserver } from './transport';
