import {
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import { SEARCH_ATTRIBUTES } from './contract';
import {
  addCounts,
  ZERO_COUNTS,
  type BeginSyncInput,
  type BeginSyncResult,
  type SyncCounts,
  type SyncProgress,
  type SyncResumeState,
  type SyncSummary,
  type SyncWorkflowInput,
} from './contract';
import { pushToMarketo } from './marketo-push';

export const progressQuery = defineQuery<SyncProgress>('progress');

// Permanent failures are raised as non-retryable by the activities themselves; this bound only stops a
// Dynamics or database outage from retrying forever (the next scheduled run tries again).
export const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  // Activities beat every 5 s while running (activities/boundary.ts): a killed worker's task is retried soon.
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
  },
};

export const activities = proxyActivities<SyncActivities>(ACTIVITY_OPTIONS);

/** An activity call with a one-line summary that the Temporal UI shows in the run's timeline. */
export const withSummary = (summary: string): ActivityOptions => ({ ...ACTIVITY_OPTIONS, summary });

/** Search attributes and memo that let an operator find and read a run in the Temporal UI. */
export function publishOutcome(mode: SyncSummary['mode'], counts: SyncCounts, summary?: SyncSummary): void {
  upsertSearchAttributes({
    [SEARCH_ATTRIBUTES.mode]: [mode],
    [SEARCH_ATTRIBUTES.opportunitiesWritten]: [counts.opportunitiesUpserted + counts.opportunitiesDeleted],
    [SEARCH_ATTRIBUTES.syncErrors]: [counts.syncErrors],
  });
  if (summary !== undefined) upsertMemo({ summary });
}

/** How often a run that waits for another run's lock asks again. */
const RUN_LOCK_RETRY = '15 seconds';

/**
 * beginSync, asked again every 15 s while another run holds the run lock (a manual run beside the scheduled
 * one): two runs never write at once, and the later one starts as soon as the earlier one has finished.
 */
export async function beginWhenFree(
  summary: string,
  input: BeginSyncInput,
  onWait: (holder: string | undefined) => void,
): Promise<BeginSyncResult> {
  for (;;) {
    const begun = await activities.beginSync.executeWithOptions(withSummary(summary), [input]);
    onWait(begun.waitingFor);
    if (begun.waitingFor === undefined) return begun;
    await sleep(RUN_LOCK_RETRY);
  }
}

/** Runs a whole sync; if it fails (or is cancelled), its run lock is given up at once instead of at the lease's end. */
export async function releasingRunLockOnFailure<T>(syncId: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ContinueAsNew))
      await CancellationScope.nonCancellable(() => activities.releaseRunLock({ syncId }));
    throw error;
  }
}

/** A partition's run: its parent holds the run lock and gives it up. */
const asIs = <T>(_syncId: string, run: () => Promise<T>): Promise<T> => run();

function initialState(input: SyncWorkflowInput): SyncResumeState {
  const info = workflowInfo();
  const partition = input.partition;
  return {
    syncId: partition?.syncId ?? `${info.workflowId}/${info.firstExecutionRunId}`,
    mode: input.full === true || partition !== undefined ? 'full' : 'incremental',
    phase: 'opportunities',
    counts: { ...ZERO_COUNTS },
    startedAt: new Date().toISOString(),
    partition,
  };
}

/**
 * One sync run: read every changed opportunity page by page, then the opportunities that changed only through
 * their connections or contacts, then commit the change state. Only cursors and counts pass through here.
 * A partition of a backfill reads its key range only; its parent begins and finishes the sync.
 */
export async function opportunitySync(input: SyncWorkflowInput = {}): Promise<SyncSummary> {
  let state = input.resume ?? initialState(input);
  const partition = state.partition;
  let phase: SyncProgress['phase'] = input.resume === undefined ? 'starting' : state.phase;
  let waitingFor: string | undefined;
  setHandler(progressQuery, () => ({
    syncId: state.syncId,
    mode: state.mode,
    phase,
    startedAt: state.startedAt,
    waitingFor,
    counts: state.counts,
  }));
  const sync = partition === undefined ? releasingRunLockOnFailure : asIs;
  return sync(state.syncId, async () => {
    if (input.resume === undefined) {
      const begun =
        partition === undefined
          ? // Until beginSync has looked at the saved change state, only a requested full sync knows its mode.
            await beginWhenFree(
              state.mode === 'full' ? 'begin full sync' : 'begin sync',
              { syncId: state.syncId, full: state.mode === 'full' },
              (holder) => {
                waitingFor = holder;
                phase = holder === undefined ? 'starting' : 'waiting';
              },
            )
          : await activities.beginPartition.executeWithOptions(
              withSummary(`begin partition ${partition.index + 1}`),
              [{ range: partition.range }],
            );
      state = {
        ...state,
        mode: begun.mode,
        cursor: begun.cursor,
        counts: addCounts(state.counts, begun.counts),
      };
      upsertSearchAttributes({ [SEARCH_ATTRIBUTES.mode]: [state.mode] });
    }

    while (state.phase === 'opportunities') {
      phase = 'opportunities';
      if (state.cursor === undefined) {
        state = { ...state, phase: partition === undefined ? 'pending' : 'finish' };
        break;
      }
      const page = await activities.syncOpportunityPage.executeWithOptions(
        withSummary(`${state.mode} opportunity page ${state.counts.pages + 1}`),
        [{ syncId: state.syncId, mode: state.mode, cursor: state.cursor }],
      );
      if (page.changeTokenExpired === true) {
        // The saved delta token is too old: Dynamics can no longer say what changed, so read everything.
        const begun = await activities.beginSync.executeWithOptions(
          withSummary('change token expired: begin full sync'),
          [{ syncId: state.syncId, full: true }],
        );
        state = {
          ...state,
          mode: 'full',
          cursor: begun.cursor,
          counts: addCounts(state.counts, begun.counts),
        };
        upsertSearchAttributes({ [SEARCH_ATTRIBUTES.mode]: ['full'] });
        continue;
      }
      state = { ...state, cursor: page.nextCursor, counts: addCounts(state.counts, page.counts) };
      if (workflowInfo().continueAsNewSuggested)
        await continueAsNew<typeof opportunitySync>({ resume: state });
    }

    while (state.phase === 'pending') {
      phase = 'pending';
      const batch = await activities.syncPendingBatch.executeWithOptions(
        withSummary('opportunities changed through related records'),
        [{ syncId: state.syncId, mode: state.mode }],
      );
      state = { ...state, counts: addCounts(state.counts, batch.counts) };
      if (batch.remaining === 0) state = { ...state, phase: 'finish' };
      if (workflowInfo().continueAsNewSuggested)
        await continueAsNew<typeof opportunitySync>({ resume: state });
    }

    if (partition === undefined) {
      phase = 'finish';
      const finished = await activities.finishSync.executeWithOptions(
        withSummary(`finish ${state.mode} sync`),
        [{ syncId: state.syncId, mode: state.mode, startedAt: state.startedAt }],
      );
      state = { ...state, counts: addCounts(state.counts, finished.counts) };
    }
    let marketo: SyncSummary['marketo'];
    if (partition === undefined) {
      phase = 'marketo';
      marketo = await pushToMarketo(state.syncId, state.mode);
    }
    phase = 'done';

    const info = workflowInfo();
    const summary: SyncSummary = {
      workflowId: info.workflowId,
      runId: info.runId,
      status: 'COMPLETED',
      mode: state.mode,
      startedAt: state.startedAt,
      finishedAt: new Date().toISOString(),
      ...state.counts,
      ...(marketo !== undefined ? { marketo } : {}),
    };
    publishOutcome(state.mode, state.counts, summary);
    return summary;
  });
}
