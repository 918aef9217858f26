import { runSync, startSync } from '../client';
import type { RuleOptions } from '../rules';
import type { SyncProgress } from '../workflows';
import { RUN_LOCK_LEASE_MS, type MarketoStore } from '../store';
import { BACKENDS, freshStore, type Backend } from './store-backends';
import { ExpectedStore, readOrganisation, sortSnapshot } from './support/expected';
import { Harness } from './support/harness';

const OPTIONS: RuleOptions = { customFields: [] };

describe.each(BACKENDS)('the run lock on $name', (backend: Backend) => {
  let store: MarketoStore;
  let done: () => Promise<void>;

  beforeEach(async () => {
    ({ store, done } = await freshStore(backend));
  });
  afterEach(async () => {
    await done();
  });

  it('one run holds it; another is told who has it; it passes on only when released or its lease ran out', async () => {
    const t0 = new Date('2026-12-01T10:00:00.000Z');
    const at = (ms: number): Date => new Date(t0.getTime() + ms);
    expect(await store.state.claimRunLock('run-a', t0)).toBe('run-a');
    expect(await store.state.claimRunLock('run-b', at(1_000))).toBe('run-a');
    // Renewed by its holder, the lease starts again.
    expect(await store.state.claimRunLock('run-a', at(RUN_LOCK_LEASE_MS - 1_000))).toBe('run-a');
    expect(await store.state.claimRunLock('run-b', at(RUN_LOCK_LEASE_MS + 1_000))).toBe('run-a');
    // Not renewed for a whole lease: the next run takes it, and the old holder is told so.
    expect(await store.state.claimRunLock('run-b', at(2 * RUN_LOCK_LEASE_MS))).toBe('run-b');
    expect(await store.state.claimRunLock('run-a', at(2 * RUN_LOCK_LEASE_MS + 1))).toBe('run-b');
    // Only the holder can give it up.
    await store.state.releaseRunLock('run-a');
    expect(await store.state.claimRunLock('run-c', at(2 * RUN_LOCK_LEASE_MS + 2))).toBe('run-b');
    await store.state.releaseRunLock('run-b');
    expect(await store.state.claimRunLock('run-c', at(2 * RUN_LOCK_LEASE_MS + 3))).toBe('run-c');
  });

  it('two runs claiming at the same moment: exactly one gets it', async () => {
    const now = new Date();
    const holders = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.state.claimRunLock(`racer-${i}`, now)),
    );
    const winners = holders.filter((holder, i) => holder === `racer-${i}`);
    expect(winners).toHaveLength(1);
    expect(new Set(holders)).toEqual(new Set(winners));
  });
});

describe('a manual run while another run is writing', () => {
  let h: Harness;
  let marketo: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 120, seed: 5 } }, latencyMs: 40 },
      env: { SYNC_PAGE_SIZE: '10' },
    });
    await h.startWorker();
    marketo = await h.openStore();
  });

  afterAll(async () => {
    await marketo?.close();
    await h?.close();
  });

  /** When each activity of a run completed, by type (the last completion of that type). */
  async function completions(workflowId: string): Promise<Map<string, number>> {
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const typeOf = new Map<number, string>();
    const done = new Map<string, number>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) typeOf.set(Number(event.eventId), scheduled.activityType?.name ?? '');
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed) {
        const type = typeOf.get(Number(completed.scheduledEventId)) ?? '';
        const time = event.eventTime;
        done.set(type, Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6));
      }
    }
    return done;
  }

  it('waits for it, then runs: the two never write at once, and the store is exact', async () => {
    const first = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    // The first run has begun (it holds the lock) before the second one starts.
    for (;;) {
      const progress = await first.query<SyncProgress>('progress');
      if (progress.counts.pages > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue });
    let waited: SyncProgress | undefined;
    for (let i = 0; i < 200 && waited === undefined; i++) {
      const progress = await second.query<SyncProgress>('progress');
      if (progress.phase === 'waiting') waited = progress;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const firstSyncId = (await first.query<SyncProgress>('progress')).syncId;
    expect(waited?.waitingFor).toBe(firstSyncId);
    expect((await first.describe()).status.name).toBe('RUNNING');
    // `oppsync sync` (runSync) is told once that its run waits, and for which run.
    const notices: string[] = [];
    const third = runSync(h.client, {
      taskQueue: h.config.temporal.taskQueue,
      onWaiting: (holder) => notices.push(holder),
    });

    const firstSummary = await first.result();
    const secondSummary = await second.result();
    const thirdOutcome = await third;
    expect(thirdOutcome.summary.status).toBe('COMPLETED');
    expect(notices).toEqual([firstSyncId]);
    expect(firstSummary.status).toBe('COMPLETED');
    expect(secondSummary.status).toBe('COMPLETED');
    // The second run began (its last beginSync, the one that got the lock) only after the first had finished,
    // so nothing it wrote can have been written beside the first run.
    const firstDone = await completions(first.workflowId);
    const secondDone = await completions(second.workflowId);
    expect(secondDone.get('beginSync')).toBeGreaterThanOrEqual(firstDone.get('finishSync') ?? Infinity);
    expect(secondSummary.mode).toBe('incremental');

    const actual = sortSnapshot(await marketo.snapshot());
    expect(actual).toEqual(expected.next(await readOrganisation(h.dynamicsClient(), OPTIONS)));
  });

  it('a run that failed gives the lock up at once: the next run does not wait', async () => {
    h.emulator.faults.latencyMs = 0;
    h.emulator.faults.revokeAllTokens();
    h.emulator.faults.rejectCredentials(true);
    const failed = await h.sync();
    expect(failed.summary.status).toBe('FAILED');
    h.emulator.faults.rejectCredentials(false);
    const next = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue });
    const summary = await next.result();
    expect(summary.status).toBe('COMPLETED');
    const timers = (await next.fetchHistory()).events?.filter((event) => event.timerStartedEventAttributes);
    expect(timers).toEqual([]);
  });
});
