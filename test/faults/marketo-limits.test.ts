import https from 'node:https';
import type { RuleOptions } from '../../rules';
import type { MarketoStore } from '../../store';
import { ExpectedStore, syncAndExpectExactStore } from '../support/expected';
import { Harness } from '../support/harness';
import { expectExactMarketo } from '../support/marketo-expected';

const OPTIONS: RuleOptions = { customFields: [] };
const CONFIGURED_PER_20S = 16;

/**
 * Marketo's limits below the configured ones, two workers on the queue (SPEC section 7, rule 3): the budget
 * that every worker shares through the store keeps any 20 s at the configured maximum, waits out each 606 and
 * 615 for at least a second before anyone calls again, and the content still ends exact.
 */
describe('a Marketo push against limits lower than configured', () => {
  let h: Harness;
  let store: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    h = await Harness.start({
      store: 'postgres',
      emulator: { dataset: { generate: { opportunities: 600, seed: 5 } } },
      marketo: { maxCallsPer20s: 8 },
      env: {
        SYNC_PAGE_SIZE: '1000',
        MARKETO_MAX_CALLS_PER_20S: String(CONFIGURED_PER_20S),
        MARKETO_MAX_CONCURRENT: '1',
        MARKETO_LEAD_LOOKUP_FIELD: 'dynamicsContactId',
      },
    });
    await h.startWorker({ identity: 'worker-a' });
    await h.startWorker({ identity: 'worker-b' });
    store = await h.openStore();
  });

  afterAll(async () => {
    await store?.close();
    await h?.close();
  });

  /** Our writes (POSTs) that arrived less than a second after one of ours was answered 606 or 615. */
  function earlyWrites(): number {
    const writes = h.marketo!.stats.log.filter((call) => call.method === 'POST');
    return writes.filter((call) =>
      writes.some(
        (refused) =>
          (refused.code === '606' || refused.code === '615') &&
          call.at > refused.answeredAt - 1 &&
          call !== refused &&
          call.at < refused.answeredAt + 1000,
      ),
    ).length;
  }

  it('606: no 20 s window over the configured maximum, no call before the wait, content exact', async () => {
    const { snapshot } = await syncAndExpectExactStore(h, store, expected, OPTIONS, true);
    await expectExactMarketo(h.marketo!, snapshot, store, 'dynamicsContactId');
    const log = h.marketo!.stats.log;
    expect(log.filter((call) => call.code === '606').length).toBeGreaterThan(0);
    expect(h.marketo!.stats.maxCallsInAnyWindow(20_000)).toBeLessThanOrEqual(CONFIGURED_PER_20S);
    expect(h.marketo!.stats.earlyCalls(1_000)).toBe(0);
    expect(earlyWrites()).toBe(0);
    process.stdout.write(
      `606 test: ${log.length} calls, ${log.filter((c) => c.code === '606').length} answered 606, ` +
        `at most ${h.marketo!.stats.maxCallsInAnyWindow(20_000)} in any 20 s\n`,
    );
  });

  it('615: another integration holding the instance busy, every 615 is waited out, content exact', async () => {
    h.marketo!.faults.setLimits({ maxCallsPer20s: 100, maxConcurrent: 1 });
    h.marketo!.faults.latencyMs = 300;
    h.marketo!.stats.reset();
    for (const row of h.emulator.data.list('opportunity').slice(0, 500))
      h.emulator.data.update('opportunity', String(row.opportunityid), {
        name: `${String(row.name)} (renewed)`,
      });
    const other = busyIntegration(h);
    try {
      const { snapshot } = await syncAndExpectExactStore(h, store, expected, OPTIONS);
      await expectExactMarketo(h.marketo!, snapshot, store, 'dynamicsContactId');
    } finally {
      await other.stop();
    }
    const writes = h.marketo!.stats.log.filter((call) => call.method === 'POST');
    expect(writes.filter((call) => call.code === '615').length).toBeGreaterThan(0);
    expect(earlyWrites()).toBe(0);
    process.stdout.write(
      `615 test: ${writes.length} writes, ${writes.filter((c) => c.code === '615').length} answered 615, ` +
        `${other.calls()} calls of the other integration\n`,
    );
  });
});

/**
 * Another integration on the same instance, one describe call at a time: back to back (so the one call the
 * instance allows is nearly always taken) until one of our writes has been answered 615, then with a pause of
 * 300 ms between calls, so the push gets through once it waits.
 */
function busyIntegration(h: Harness): { stop(): Promise<void>; calls(): number } {
  const m = h.marketo!;
  let running = true;
  let calls = 0;
  const get = (path: string, headers: Record<string, string> = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      https
        .get(`${m.url}${path}`, { ca: m.caPem, headers }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  const loop = (async () => {
    const token = (
      JSON.parse(
        await get(
          `/identity/oauth/token?grant_type=client_credentials&client_id=${m.clientId}&client_secret=${m.clientSecret}`,
        ),
      ) as { access_token: string }
    ).access_token;
    while (running) {
      await get('/rest/v1/leads/describe2.json', { Authorization: `Bearer ${token}` });
      calls++;
      const refused = m.stats.log.some((call) => call.method === 'POST' && call.code === '615');
      if (refused) await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return {
    calls: () => calls,
    async stop() {
      running = false;
      await loop;
    },
  };
}
