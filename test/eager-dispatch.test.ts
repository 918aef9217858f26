/**
 * Several workers on one task queue, pages read ahead: the dev server dispatches activities eagerly
 * (`system.enableActivityEagerExecution`), so the worker that completes a run's workflow task takes the page
 * activity it schedules, which is the worker that read that page ahead. No page is read twice.
 */
import type { RuleOptions } from '../rules';
import type { MarketoStore } from '../store';
import { ExpectedStore, syncAndExpectExactStore } from './support/expected';
import { Harness } from './support/harness';

const OPTIONS: RuleOptions = { customFields: [] };
const WORKERS = ['worker-a', 'worker-b', 'worker-c'];

describe('three workers on the task queue, reading ahead', () => {
  let h: Harness;
  let marketo: MarketoStore;

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 200, seed: 5 } } },
      env: { SYNC_PAGE_SIZE: '20', SYNC_READ_AHEAD: 'true' },
    });
    for (const identity of WORKERS) await h.startWorker({ identity });
    marketo = await h.openStore();
  });

  afterAll(async () => {
    await marketo?.close();
    await h?.close();
  });

  it("a run's pages stay on the worker that read them ahead: each page is read once, the store is exact", async () => {
    const pageReads = () =>
      h.emulator.stats.log.filter(
        (entry) => entry.batch === undefined && entry.path.endsWith('/opportunities'),
      ).length;
    const readsBefore = pageReads();
    let reads = 0;
    const { outcome } = await syncAndExpectExactStore(
      h,
      marketo,
      new ExpectedStore(OPTIONS),
      OPTIONS,
      true,
      // Counted before the comparison reads the organisation itself.
      () => (reads = pageReads() - readsBefore),
    );
    const { pages, workflowId, runId } = outcome.summary;
    expect(pages).toBeGreaterThan(5);
    expect(reads).toBe(pages);

    // Which worker started each page activity, from the run's history.
    const history = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const pageActivities = new Set<string>();
    const identities: string[] = [];
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'syncOpportunityPage') pageActivities.add(String(event.eventId));
      const started = event.activityTaskStartedEventAttributes;
      if (started && pageActivities.has(String(started.scheduledEventId)))
        identities.push(started.identity ?? '');
    }
    expect(identities).toHaveLength(pages);
    expect(WORKERS).toContain(identities[0]);
    expect(new Set(identities).size).toBe(1);
  });
});
