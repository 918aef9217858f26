import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startSync } from '../../client';
import type { RuleOptions } from '../../rules';
import type { SyncSummary } from '../../workflows';
import type { MarketoStore } from '../../store';
import { ExpectedStore, readOrganisation, sortSnapshot } from '../support/expected';
import { duplicateKeys, spawnWorker, waitFor, type ChildWorker } from '../support/faults';
import { Harness } from '../support/harness';

const OPTIONS: RuleOptions = { customFields: [] };
const { EventType } = temporal.api.enums.v1;
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** The page activity a worker is running now: its scheduled event id, once it has started. */
async function runningPage(handle: WorkflowHandle): Promise<number | undefined> {
  const { raw } = await handle.describe();
  const page = raw.pendingActivities?.find(
    (activity) => activity.activityType?.name === 'syncOpportunityPage' && activity.state === STARTED,
  );
  return page === undefined ? undefined : Number(page.activityId);
}

/** How the activity scheduled as event `scheduledEventId` ended, if it has ended: completed, failed, timed out. */
async function outcomeOf(handle: WorkflowHandle, scheduledEventId: number): Promise<string | undefined> {
  const history = await handle.fetchHistory();
  for (const event of history.events ?? []) {
    const attributes =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (
      attributes !== undefined &&
      attributes !== null &&
      Number(attributes.scheduledEventId) === scheduledEventId
    )
      return EventType[event.eventType ?? 0];
  }
  return undefined;
}

/** Scheduled event id of the activity with this activity id (the SDK numbers activities 1, 2, …). */
async function scheduledEventOf(handle: WorkflowHandle, activityId: number): Promise<number> {
  const history = await handle.fetchHistory();
  const event = (history.events ?? []).find(
    (e) => e.activityTaskScheduledEventAttributes?.activityId === String(activityId),
  );
  if (event === undefined) throw new Error(`no activity ${activityId} in history`);
  return Number(event.eventId);
}

describe('a worker stopped with SIGTERM', () => {
  let h: Harness;
  let marketo: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);
  const workers: ChildWorker[] = [];

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 40, seed: 11 } } },
      env: { SYNC_PAGE_SIZE: '10' },
    });
    marketo = await h.openStore();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
    await marketo?.close();
    await h?.close();
  });

  /** Starts a full sync on a new child worker and signals it once a page activity is running on it. */
  async function stoppedMidPage(
    grace: string,
    signals: number,
  ): Promise<{
    handle: WorkflowHandle;
    worker: ChildWorker;
    code: number | null;
    scheduledEventId: number;
  }> {
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    const worker = spawnWorker(h, { OPPSYNC_SHUTDOWN_GRACE: grace });
    workers.push(worker);
    let activityId: number | undefined;
    await waitFor('a page activity running on the worker', async () => {
      activityId = await runningPage(handle);
      return activityId !== undefined;
    });
    const scheduledEventId = await scheduledEventOf(handle, activityId ?? 0);
    worker.child.kill('SIGTERM');
    if (signals > 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      worker.child.kill('SIGTERM');
    }
    const code = await worker.exited;
    return { handle, worker, code, scheduledEventId };
  }

  async function finishWithNewWorker(handle: WorkflowHandle): Promise<SyncSummary> {
    h.emulator.faults.latencyMs = 0;
    const next = spawnWorker(h);
    workers.push(next);
    const summary = (await handle.result()) as SyncSummary;
    await next.kill('SIGTERM');
    const actual = sortSnapshot(await marketo.snapshot());
    expect(duplicateKeys(actual)).toEqual([]);
    expect(actual).toEqual(expected.next(await readOrganisation(h.dynamicsClient(), OPTIONS)));
    return summary;
  }

  it('lets the page being written finish, exits 0, and the next worker completes the run exactly', async () => {
    // Each request takes 400 ms: a page (its opportunities, then its contacts, accounts and connections) is
    // still running when the signal comes.
    h.emulator.faults.latencyMs = 400;
    const { handle, worker, code, scheduledEventId } = await stoppedMidPage('60s', 1);
    expect(code).toBe(0);
    expect(await outcomeOf(handle, scheduledEventId)).toBe('EVENT_TYPE_ACTIVITY_TASK_COMPLETED');
    expect(worker.output.join('')).toContain('running activities may finish first');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const summary = await finishWithNewWorker(handle);
    expect(summary.status).toBe('COMPLETED');
  });

  it('past the grace time the page is cancelled (its requests aborted), the worker exits 0, and the next one completes the run exactly', async () => {
    h.emulator.faults.latencyMs = 2_000;
    const { handle, code, scheduledEventId } = await stoppedMidPage('1s', 1);
    expect(code).toBe(0);
    expect(await outcomeOf(handle, scheduledEventId)).toBeUndefined();
    const summary = await finishWithNewWorker(handle);
    expect(summary.status).toBe('COMPLETED');
  });

  it('a second signal stops at once: the page is left to the next worker, which completes the run exactly', async () => {
    h.emulator.faults.latencyMs = 2_000;
    const { handle, worker, code, scheduledEventId } = await stoppedMidPage('60s', 2);
    expect(code).toBe(143);
    expect(worker.output.join('')).toContain('second signal: stopping at once');
    // The process did not wait for the page: it had not ended when the worker was gone.
    expect(await outcomeOf(handle, scheduledEventId)).toBeUndefined();
    const summary = await finishWithNewWorker(handle);
    expect(summary.status).toBe('COMPLETED');
  });
});
