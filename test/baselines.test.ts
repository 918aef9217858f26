/**
 * A full sync's change baselines are walked beside its opportunity pages: beginSync answers once each baseline
 * has had its first page, takeBaseline walks the rest of each while the pages are written, and the run finishes
 * only once both are done. The store is exact, and the next incremental run reads from the baselines taken.
 */
import type { RuleOptions } from '../rules';
import type { MarketoStore } from '../store';
import { ExpectedStore, syncAndExpectExactStore } from './support/expected';
import { Harness } from './support/harness';

const OPTIONS: RuleOptions = { customFields: [] };

describe('change baselines beside the pages', () => {
  let h: Harness;
  let store: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    // About four connections an opportunity: more than one 5,000-row baseline page of connections.
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 1_500, seed: 21 } } },
      env: { SYNC_PAGE_SIZE: '500' },
    });
    await h.startWorker();
    store = await h.openStore();
  });

  afterAll(async () => {
    await store?.close();
    await h?.close();
  });

  it('takes the connections baseline beside the pages, then syncs exactly; an incremental run follows it', async () => {
    expect(h.emulator.data.list('connection').length).toBeGreaterThan(5_000);
    const { outcome } = await syncAndExpectExactStore(h, store, expected, OPTIONS, true);
    const events =
      (await h.client.workflow.getHandle(outcome.summary.workflowId).fetchHistory()).events ?? [];
    const activityOf = (eventId: unknown) =>
      events.find((event) => Number(event.eventId) === Number(eventId))?.activityTaskScheduledEventAttributes;
    const scheduled = events.filter((event) => event.activityTaskScheduledEventAttributes);
    const baselines = scheduled.filter(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'takeBaseline',
    );
    expect(baselines).toHaveLength(1);
    const firstPage = scheduled.find(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'syncOpportunityPage',
    );
    const baselineDone = events.find(
      (event) =>
        activityOf(event.activityTaskCompletedEventAttributes?.scheduledEventId)?.activityType?.name ===
        'takeBaseline',
    );
    expect(Number(firstPage?.eventId)).toBeLessThan(Number(baselineDone?.eventId));

    // Changes after the full sync reach the store through the baselines it took.
    const contact = h.emulator.data.list('contact')[0];
    h.emulator.data.update('contact', String(contact?.contactid), { lastname: 'Baseline-Follower' });
    const connection = h.emulator.data.list('connection')[4_999];
    h.emulator.data.update('connection', String(connection?.connectionid), { statecode: 1, statuscode: 2 });
    await syncAndExpectExactStore(h, store, expected, OPTIONS);
  });
});
