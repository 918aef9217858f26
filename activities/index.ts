export { createSyncActivities } from './sync-activities';
export type { SyncActivities, SyncActivityDependencies } from './sync-activities';
