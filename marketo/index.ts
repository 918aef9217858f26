/** The Marketo REST destination (SPEC section 7): push the mirror into a Marketo instance. */
export { createMarketoDestination, readDescribe, type MarketoDestination } from './destination';
export { MarketoClient, type MarketoConnection } from './client';
export { CallBudget, quotaDay, WINDOW_MS, type CallLimits, type QuotaUsage } from './budget';
export { codeOf, isMarketoError, MarketoError, type MarketoErrorKind } from './errors';
export type { PushStepResult } from './push';
