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
  for (const runId of runIds) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    events += history.events?.length ?? 0;
    largestPayloadBytes = Math.max(largestPayloadBytes, largestData(history));
    addActivityTimes(history.events ?? [], activitySeconds, activitiesByWorker);
  }
  return { runs: runIds.length, events, largestPayloadBytes, activitySeconds, activitiesByWorker };
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
): void {
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  for (const event of events) {
    const done = event.activityTaskCompletedEventAttributes;
    if (!done) continue;
    const scheduled = byId.get(Number(done.scheduledEventId));
    const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
    const started = byId.get(Number(done.startedEventId));
    into[type] = (into[type] ?? 0) + seconds(event) - seconds(started);
    const worker = started?.activityTaskStartedEventAttributes?.identity ?? '?';
    byWorker[worker] = (byWorker[worker] ?? 0) + 1;
  }
}
