import { executeChild, setHandler, workflowInfo } from '@temporalio/workflow';
import { keyRanges } from './contract';
import {
  addCounts,
  ZERO_COUNTS,
  type BackfillWorkflowInput,
  type SyncProgress,
  type SyncSummary,
} from './contract';
import {
  activities,
  beginWhenFree,
  opportunitySync,
  progressQuery,
  publishOutcome,
  releasingRunLockOnFailure,
  withSummary,
} from './opportunity-sync';
import { pushToMarketo } from './marketo-push';

/**
 * A full sync split into key ranges of opportunityid, each a child workflow on the same task queue, so every
 * worker on the queue takes part. The parent takes the change baselines first and finishes the sync once every
 * partition is written, so the result is the same as one single-partition full sync.
 */
export async function opportunityBackfill(input: BackfillWorkflowInput): Promise<SyncSummary> {
  const info = workflowInfo();
  const syncId = `${info.workflowId}/${info.firstExecutionRunId}`;
  const startedAt = new Date().toISOString();
  let counts = { ...ZERO_COUNTS };
  let phase: SyncProgress['phase'] = 'starting';
  let waitingFor: string | undefined;
  setHandler(progressQuery, () => ({ syncId, mode: 'full', phase, startedAt, waitingFor, counts }));
  return releasingRunLockOnFailure(syncId, async () => {
    const begun = await beginWhenFree(
      `begin backfill in ${input.partitions} partitions`,
      { syncId, full: true, baselineOpportunities: true },
      (holder) => {
        waitingFor = holder;
        phase = holder === undefined ? 'starting' : 'waiting';
      },
    );
    counts = addCounts(counts, begun.counts);

    phase = 'partitions';
    const results = await Promise.all(
      keyRanges(input.partitions).map((range, index) =>
        executeChild(opportunitySync, {
          workflowId: `${info.workflowId}-partition-${index + 1}`,
          args: [{ partition: { syncId, index, range } }],
        }),
      ),
    );
    for (const result of results) counts = addCounts(counts, result);

    phase = 'finish';
    const finished = await activities.finishSync.executeWithOptions(withSummary('finish backfill'), [
      { syncId, mode: 'full', startedAt },
    ]);
    counts = addCounts(counts, finished.counts);
    phase = 'marketo';
    const marketo = await pushToMarketo(syncId, 'full');
    phase = 'done';
    const summary: SyncSummary = {
      workflowId: info.workflowId,
      runId: info.runId,
      status: 'COMPLETED',
      mode: 'full',
      startedAt,
      finishedAt: new Date().toISOString(),
      ...counts,
      ...(marketo !== undefined ? { marketo } : {}),
    };
    publishOutcome('full', counts, summary);
    return summary;
  });
}
