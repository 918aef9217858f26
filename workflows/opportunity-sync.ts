import {
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import { SEARCH_ATTRIBUTES } from '../shared/constants';
import {
  addCounts,
  ZERO_COUNTS,
  type SyncProgress,
  type SyncResumeState,
  type SyncSummary,
  type SyncWorkflowInput,
} from '../shared/sync-types';

export const progressQuery = defineQuery<SyncProgress>('progress');

// Permanent failures are raised as non-retryable by the activities themselves; this bound only stops a
// Dynamics or database outage from retrying forever (the next scheduled run tries again).
const { beginSync, syncOpportunityPage, syncPendingBatch, finishSync } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
  },
});

/**
 * One sync run: read every changed opportunity page by page, then the opportunities that changed only through
 * their connections or contacts, then commit the change state. Only cursors and counts pass through here.
 */
export async function opportunitySync(input: SyncWorkflowInput = {}): Promise<SyncSummary> {
  const info = workflowInfo();
  let state: SyncResumeState = input.resume ?? {
    syncId: `${info.workflowId}/${info.firstExecutionRunId}`,
    mode: input.full === true ? 'full' : 'incremental',
    phase: 'opportunities',
    counts: { ...ZERO_COUNTS },
    startedAt: new Date().toISOString(),
  };
  let progressPhase: SyncProgress['phase'] = input.resume === undefined ? 'starting' : state.phase;
  setHandler(progressQuery, () => ({
    syncId: state.syncId,
    mode: state.mode,
    phase: progressPhase,
    startedAt: state.startedAt,
    counts: state.counts,
  }));

  if (input.resume === undefined) {
    const begun = await beginSync({ syncId: state.syncId, full: state.mode === 'full' });
    state = {
      ...state,
      mode: begun.mode,
      cursor: begun.cursor,
      counts: addCounts(state.counts, begun.counts),
    };
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.mode]: [state.mode] });
  }

  while (state.phase === 'opportunities' && state.cursor !== undefined) {
    progressPhase = 'opportunities';
    const page = await syncOpportunityPage({ syncId: state.syncId, mode: state.mode, cursor: state.cursor });
    if (page.changeTokenExpired === true) {
      // The saved delta token is too old: Dynamics can no longer say what changed, so read everything.
      const begun = await beginSync({ syncId: state.syncId, full: true });
      state = { ...state, mode: 'full', cursor: begun.cursor, counts: addCounts(state.counts, begun.counts) };
      upsertSearchAttributes({ [SEARCH_ATTRIBUTES.mode]: ['full'] });
      continue;
    }
    state = { ...state, cursor: page.nextCursor, counts: addCounts(state.counts, page.counts) };
    if (state.cursor === undefined) state = { ...state, phase: 'pending' };
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof opportunitySync>({ resume: state });
  }
  if (state.phase === 'opportunities') state = { ...state, phase: 'pending' };

  while (state.phase === 'pending') {
    progressPhase = 'pending';
    const batch = await syncPendingBatch({ syncId: state.syncId, mode: state.mode });
    state = { ...state, counts: addCounts(state.counts, batch.counts) };
    if (batch.remaining === 0) state = { ...state, phase: 'finish' };
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof opportunitySync>({ resume: state });
  }

  progressPhase = 'finish';
  const finished = await finishSync({ syncId: state.syncId, mode: state.mode });
  state = { ...state, counts: addCounts(state.counts, finished.counts) };
  progressPhase = 'done';

  const written = state.counts.opportunitiesUpserted + state.counts.opportunitiesDeleted;
  upsertSearchAttributes({
    [SEARCH_ATTRIBUTES.opportunitiesWritten]: [written],
    [SEARCH_ATTRIBUTES.syncErrors]: [state.counts.syncErrors],
  });
  const summary: SyncSummary = {
    workflowId: info.workflowId,
    runId: workflowInfo().runId,
    status: 'COMPLETED',
    mode: state.mode,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    ...state.counts,
  };
  upsertMemo({ summary });
  return summary;
}
