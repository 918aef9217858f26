import { withLiveness } from './liveness';
import { createMarketoActivities as createBareMarketoActivities } from './marketo-activities';
import { createSyncActivities as createBareSyncActivities } from './sync-activities';

/** The sync's activities, each heartbeating on a timer while it runs (see liveness.ts). */
export function createSyncActivities(
  ...args: Parameters<typeof createBareSyncActivities>
): ReturnType<typeof createBareSyncActivities> {
  return withLiveness(createBareSyncActivities(...args));
}
/** The Marketo push's activity, heartbeating the same way. */
export function createMarketoActivities(
  ...args: Parameters<typeof createBareMarketoActivities>
): ReturnType<typeof createBareMarketoActivities> {
  return withLiveness(createBareMarketoActivities(...args));
}
export type { SyncActivities, SyncActivityDependencies } from './sync-activities';
export type { MarketoActivities, MarketoActivityDependencies } from './marketo-activities';
export { activityCancellation, activityLogger, heartbeatIfInActivity } from './context';
