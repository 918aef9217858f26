import { startSync } from '../../client';
import type { RuleOptions } from '../../rules';
import type { MarketoStore } from '../../store';
import { ExpectedStore, expectExactStore, sortSnapshot } from '../support/expected';
import { rawHistories, secretsFound, spawnWorker, waitFor, type ChildWorker } from '../support/faults';
import { Harness } from '../support/harness';
import { expectExactMarketo, marketoContent } from '../support/marketo-expected';

const OPTIONS: RuleOptions = { customFields: [] };

/** Keys that occur on more than one record of an object (must be none). */
function duplicates(
  rows: Record<string, unknown>[],
  key: (row: Record<string, unknown>) => string,
): string[] {
  const keys = rows.map(key);
  return keys.filter((k, i) => keys.indexOf(k) !== i);
}

/**
 * SIGKILL of the worker twice while it pushes a large organisation into Marketo (SPEC section 7, rule 2): the
 * step starts again on the next worker from the ledger, and Marketo ends exact, with no lead or role twice.
 */
describe('a Marketo push whose workers are killed with SIGKILL', () => {
  let h: Harness;
  let store: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);
  const workers: ChildWorker[] = [];
  const posts = (): number => h.marketo!.stats.log.filter((call) => call.method === 'POST').length;

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 1200, seed: 11 } } },
      // At 150 ms a call and one call at a time, the push takes several seconds: long enough to kill twice.
      marketo: { latencyMs: 150, tokenLifetimeSeconds: 4 },
      env: {
        SYNC_PAGE_SIZE: '1000',
        MARKETO_MAX_CONCURRENT: '1',
        MARKETO_LEAD_LOOKUP_FIELD: 'dynamicsContactId',
      },
    });
    store = await h.openStore();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
    await store?.close();
    await h?.close();
  });

  it('killed twice mid-push, the run completes and Marketo holds exactly the store, nothing twice', async () => {
    const started = Date.now();
    const marks: string[] = [];
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    for (let kill = 0; kill < 2; kill++) {
      const worker = spawnWorker(h);
      workers.push(worker);
      const start = posts();
      // Into the push (a few calls answered), at a random point of a call.
      await waitFor('Marketo writes by the worker', () => posts() >= start + 3 + kill * 2, 240_000);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 150)));
      await worker.kill('SIGKILL');
      marks.push(
        `kill ${kill + 1} at ${Math.round((Date.now() - started) / 1000)} s after ${posts()} writes`,
      );
      expect((await handle.describe()).status.name).toBe('RUNNING');
    }
    const last = spawnWorker(h);
    workers.push(last);
    const summary = await handle.result();
    await last.kill('SIGTERM');
    process.stdout.write(
      `${marks.join('; ')}; done at ${Math.round((Date.now() - started) / 1000)} s, ${h.marketo!.stats.calls} Marketo calls\n`,
    );
    expect(summary.status).toBe('COMPLETED');
    await expectExactStore(h, store, expected, OPTIONS);
    const snapshot = sortSnapshot(await store.snapshot());
    await expectExactMarketo(h.marketo!, snapshot, store, 'dynamicsContactId');
    const content = marketoContent(h.marketo!, 'dynamicsContactId');
    expect(content.opportunities.length).toBe(snapshot.opportunities.filter((o) => !o.is_deleted).length);
    expect(duplicates(h.marketo!.data.leads(), (lead) => String(lead.dynamicsContactId))).toEqual([]);
    expect(
      duplicates(
        h.marketo!.data.roles(),
        (r) => `${String(r.externalOpportunityId)}|${String(r.leadId)}|${String(r.role)}`,
      ),
    ).toEqual([]);
  });

  it('no history, worker log or store holds the Marketo client secret or an access token', async () => {
    const token = await fetchToken(h);
    const secrets = [h.marketo!.clientSecret, token];
    const logs = workers.map((w) => w.output.join(''));
    expect(logs.join('')).toContain('pushed opportunities to Marketo');
    const tables = await Promise.all(
      ['sync_state', 'sync_errors', 'marketo_leads', 'marketo_opportunities'].map(async (table) =>
        JSON.stringify(await store.knex(table).select()),
      ),
    );
    expect(secretsFound([...logs, ...tables, ...(await rawHistories(h.client))], secrets)).toEqual([]);
  });
});

/** The token the emulator holds for the harness's client now (Marketo returns the same one while it lives). */
async function fetchToken(h: Harness): Promise<string> {
  const https = await import('node:https');
  const m = h.marketo!;
  const url = `${m.url}/identity/oauth/token?grant_type=client_credentials&client_id=${m.clientId}&client_secret=${m.clientSecret}`;
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: m.caPem }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve((JSON.parse(body) as { access_token: string }).access_token));
      })
      .on('error', reject);
  });
}
