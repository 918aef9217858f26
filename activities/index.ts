import { withLiveness } from './liveness';
import { createSyncActivities as createBareSyncActivities } from './sync-activities';

/** The sync's activities, each heartbeating on a timer while it runs (see liveness.ts). */
export function createSyncActivities(
  ...args: Parameters<typeof createBareSyncActivities>
): ReturnType<typeof createBareSyncActivities> {
  return withLiveness(createBareSyncActivities(...args));
}
export type { SyncActivities, SyncActivityDependencies } from './sync-activities';
export { activityCancellation, activityLogger, heartbeatIfInActivity } from './context';
