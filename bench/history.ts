import type { Client, WorkflowHandle } from '@temporalio/client';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

export interface HistoryStats {
  /** Runs of the workflow id (a continue-as-new chain has several). */
  runs: number;
  events: number;
  /** The largest single payload (bytes of `data`) in any of the histories. */
  largestPayloadBytes: number;
  /** Seconds between start and completion of each activity, summed by activity type. */
  activitySeconds: Record<string, number>;
  /** Activities completed, by the identity (`<pid>@<host>`) of the worker that ran them. */
  activitiesByWorker: Record<string, number>;
  /** Seconds from the workflow's start to its first opportunity page written (what a small organisation waits). */
  firstPageSeconds: number;
  /** The median seconds between one opportunity page written and the next, after the first. */
  laterPageSeconds: number;
}

const VISIBILITY_WAIT_MS = 30_000;

/** Events and the largest payload over every run of `workflowId`, found by listing executions. */
export async function historyStats(
  client: Client,
  workflowId: string,
  lastRunId: string,
): Promise<HistoryStats> {
  const runIds = await runsOf(client, workflowId, lastRunId);
  let events = 0;
  let largestPayloadBytes = 0;
  const activitySeconds: Record<string, number> = {};
  const activitiesByWorker: Record<string, number> = {};
  let startedAt: number | undefined;
  const pagesWrittenAt: number[] = [];
  for (const runId of runIds) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const runEvents = history.events ?? [];
    events += runEvents.length;
    largestPayloadBytes = Math.max(largestPayloadBytes, largestData(history));
    addActivityTimes(runEvents, activitySeconds, activitiesByWorker, pagesWrittenAt);
    const start = runEvents.find((event) => event.workflowExecutionStartedEventAttributes);
    if (start !== undefined) startedAt = Math.min(startedAt ?? Infinity, seconds(start));
  }
  pagesWrittenAt.sort((a, b) => a - b);
  const gaps = pagesWrittenAt.slice(1).map((at, index) => at - (pagesWrittenAt[index] ?? at));
  return {
    runs: runIds.length,
    events,
    largestPayloadBytes,
    activitySeconds,
    activitiesByWorker,
    firstPageSeconds: (pagesWrittenAt[0] ?? NaN) - (startedAt ?? NaN),
    laterPageSeconds: median(gaps),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** Visibility is eventually consistent: list until the last run (the one that returned) shows up. */
async function runsOf(client: Client, workflowId: string, lastRunId: string): Promise<string[]> {
  const deadline = Date.now() + VISIBILITY_WAIT_MS;
  for (;;) {
    const runIds: string[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      runIds.push(execution.runId);
    if (runIds.includes(lastRunId) || Date.now() > deadline) return runIds;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Walks the decoded history proto: every Payload carries its bytes in `data`. */
function largestData(node: unknown): number {
  if (node === null || typeof node !== 'object') return 0;
  if (node instanceof Uint8Array) return 0;
  let largest = 0;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'data' && value instanceof Uint8Array) largest = Math.max(largest, value.length);
    else largest = Math.max(largest, largestData(value));
  }
  return largest;
}

function seconds(event: HistoryEvent | undefined): number {
  const time = event?.eventTime;
  return time ? Number(time.seconds ?? 0) + (time.nanos ?? 0) / 1e9 : 0;
}

function addActivityTimes(
  events: HistoryEvent[],
  into: Record<string, number>,
  byWorker: Record<string, number>,
  pagesWrittenAt: number[],
): void {
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  for (const event of events) {
    const done = event.activityTaskCompletedEventAttributes;
    if (!done) continue;
    const scheduled = byId.get(Number(done.scheduledEventId));
    const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
    const started = byId.get(Number(done.startedEventId));
    into[type] = (into[type] ?? 0) + seconds(event) - seconds(started);
    if (type === 'syncOpportunityPage') pagesWrittenAt.push(seconds(event));
    const worker = started?.activityTaskStartedEventAttributes?.identity ?? '?';
    byWorker[worker] = (byWorker[worker] ?? 0) + 1;
  }
}
