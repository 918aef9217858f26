/**
 * The activities, by phase (begin, pages, pending, finish; the Marketo push), each run inside one boundary
 * (liveness heartbeats, failures mapped for Temporal's retries). Only cursors, ids and counts leave them.
 */
import { activityBoundary } from './boundary';
import { beginActivities } from './begin';
import { finishActivities } from './finish';
import { pageActivities } from './pages';
import { pendingActivities } from './pending';
import { createMarketoActivities as createPushActivities, type MarketoActivityDependencies } from './push';
import { createSyncContext, type SyncActivityDependencies } from './sync-context';

/** The sync's activities over one worker's dependencies. */
export function createSyncActivities(deps: SyncActivityDependencies) {
  const context = createSyncContext(deps);
  return activityBoundary({
    ...beginActivities(context),
    ...pageActivities(context),
    ...pendingActivities(context),
    ...finishActivities(context),
  });
}

/** The Marketo push's activity. */
export function createMarketoActivities(deps: MarketoActivityDependencies) {
  return activityBoundary(createPushActivities(deps));
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
export type MarketoActivities = ReturnType<typeof createMarketoActivities>;
export type { SyncActivityDependencies } from './sync-context';
export type { MarketoActivityDependencies } from './push';
export { READ_IDLE_MS, READS_AHEAD_PER_RUN, RunState, RunStates, type ReadAheadPage } from './run-state';
export { firstPageSize } from './pages';
export { PagePrefetch } from './page-prefetch';
export { decodeChangeState } from './change-state';
export { activityCancellation, activityLogger, heartbeatIfInActivity } from './context';
