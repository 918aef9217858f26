/** The Dataverse Web API client (read-only) and its Entra ID authentication. */
export { DynamicsClient, type DynamicsClientOptions, type IdQuery } from './client';
export type { DynamicsAuthConfig } from './auth';
export type { Page } from './odata';
export { lookupOf, formattedValue, type RawRecord } from './annotations';
export { isGuid, normaliseGuid } from './guid';
export { DynamicsError, isDynamicsError, toSafeMessage, type DynamicsErrorCode } from './errors';
export { tallyRequests } from './transport';
