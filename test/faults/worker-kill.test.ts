import { startSync } from '../../client';
import { EMULATOR_DEFAULTS } from '@oppsync/dataverse-emulator';
import type { RuleOptions } from '../../rules';
import type { MarketoStore } from '../../store';
import type { SyncSummary } from '../../workflows';
import { ExpectedStore, expectExactStore } from '../support/expected';
import { rawHistories, secretsFound, spawnWorker, waitFor, type ChildWorker } from '../support/faults';
import { Harness } from '../support/harness';

const OPTIONS: RuleOptions = { customFields: [] };
const KILLS_PER_RUN = 3;

/**
 * Waits up to `maxMs` (a random point in it), but no longer than until the worker has written more than
 * `pages` pages: a worker that writes pages faster than the delay runs must still die inside the run, or
 * three kills could outlast it (30 pages of 10, two written and up to ten more in 400 ms on a fast machine).
 */
async function randomPointBeforeNextPage(worker: ChildWorker, pages: number, maxMs: number): Promise<void> {
  const until = Date.now() + Math.floor(Math.random() * maxMs);
  while (Date.now() < until && worker.pagesWritten() <= pages) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * SIGKILL at random points of a multi-page sync: each worker is killed a random 1–2 written pages plus
 * 0–400 ms after it starts writing, before a further page (inside an activity, between pages, or
 * mid-workflow-task), a new one is started, and when the run completes the store is exactly the rules' result
 * with no duplicate rows.
 */
describe('a sync whose workers are killed with SIGKILL', () => {
  let h: Harness;
  let marketo: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);
  const workers: ChildWorker[] = [];
  let killsSurvived = 0;

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 300, seed: 7 } }, latencyMs: 15 },
      env: { SYNC_PAGE_SIZE: '10' },
    });
    marketo = await h.openStore();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
    await marketo?.close();
    await h?.close();
  });

  /** Runs one sync to completion through KILLS_PER_RUN killed workers and one that survives. */
  async function syncThroughKills(full: boolean): Promise<SyncSummary> {
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full });
    for (let kill = 0; kill < KILLS_PER_RUN; kill++) {
      const worker = spawnWorker(h);
      workers.push(worker);
      const pages = 1 + Math.floor(Math.random() * 2);
      const start = worker.pagesWritten();
      await waitFor('pages written by the worker', () => worker.pagesWritten() >= start + pages, 180_000);
      await randomPointBeforeNextPage(worker, start + pages, 400);
      await worker.kill('SIGKILL');
      expect(worker.child.signalCode).toBe('SIGKILL');
      const status = (await handle.describe()).status.name;
      if (status === 'RUNNING') killsSurvived++;
      expect(status).toBe('RUNNING');
    }
    const last = spawnWorker(h);
    workers.push(last);
    const summary = await handle.result();
    await last.kill('SIGTERM');
    return summary;
  }

  it('a full sync killed three times completes with exactly the rules’ result', async () => {
    const summary = await syncThroughKills(true);
    expect(summary.status).toBe('COMPLETED');
    await expectExactStore(h, marketo, expected, OPTIONS);
    const snapshot = await marketo.snapshot();
    expect(snapshot.opportunities.length).toBe(300);
  });

  it('an incremental sync with changes, killed three times, completes exactly', async () => {
    const ids = h.emulator.data.list('opportunity').map((row) => String(row.opportunityid));
    for (const id of ids.slice(0, 290)) h.emulator.data.update('opportunity', id, { name: `renamed ${id}` });
    for (const id of ids.slice(200, 205)) h.emulator.data.remove('opportunity', id);
    const summary = await syncThroughKills(false);
    expect(summary.status).toBe('COMPLETED');
    expect(summary.mode).toBe('incremental');
    await expectExactStore(h, marketo, expected, OPTIONS);
  });

  it('no history and no worker log holds the client secret, the password or an issued access token', async () => {
    const secrets = [
      h.dynamicsAuth.clientSecret ?? '',
      EMULATOR_DEFAULTS.user.password,
      ...h.emulator.stats.tokensIssued,
    ];
    expect(h.emulator.stats.tokensIssued.length).toBeGreaterThanOrEqual(workers.length);
    const logs = workers.map((w) => w.output.join(''));
    expect(logs.join('')).toContain('opportunity page written');
    const found = secretsFound([...logs, ...(await rawHistories(h.client))], secrets);
    expect(found).toEqual([]);
    process.stdout.write(
      `worker kills survived: ${killsSurvived}; secrets found in ${logs.length} logs and histories: ${found.length}\n`,
    );
  });
});
