import { firstPageSize } from '../../activities';
import type { RuleOptions } from '../../rules';
import type { MarketoStore } from '../../store';
import { startSync } from '../../client';
import { ExpectedStore, expectExactStore } from '../support/expected';
import { rawHistories, secretsFound, waitFor } from '../support/faults';
import { Harness } from '../support/harness';

const OPTIONS: RuleOptions = { customFields: [] };
const OPPORTUNITIES = 200;

/**
 * Service protection and token loss against the real worker: 30% of Web API requests answered 429 with a
 * Retry-After, then tokens expired and revoked while pages are being read. Each run completes exactly.
 */
describe('a sync under throttling and token expiry', () => {
  let h: Harness;
  let marketo: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: OPPORTUNITIES, seed: 11 } } },
      env: { SYNC_PAGE_SIZE: '20' },
    });
    await h.startWorker();
    marketo = await h.openStore();
  });

  afterAll(async () => {
    await marketo?.close();
    await h?.close();
  });

  const opportunityPageReads = (): number =>
    h.emulator.stats.log.filter(
      (e) => e.method === 'GET' && /\/opportunities$/.test(e.path) && e.status === 200,
    ).length;

  it('completes exactly with 30% of requests throttled, never repeating one before its Retry-After', async () => {
    h.emulator.faults.throttle({ ratio: 0.3, retryAfterSeconds: 1 });
    const outcome = await h.sync(true);
    h.emulator.faults.throttle(null);
    expect(outcome.error).toBeUndefined();
    expect(outcome.summary.status).toBe('COMPLETED');
    expect(outcome.summary.opportunitiesUpserted).toBe(OPPORTUNITIES);
    const throttled = h.emulator.stats.throttled;
    const served = h.emulator.stats.log.length;
    expect(throttled).toBeGreaterThanOrEqual(Math.floor(served * 0.15));
    expect(h.emulator.stats.earlyRetries()).toBe(0);
    await expectExactStore(h, marketo, expected, OPTIONS);
    process.stdout.write(`429s served: ${throttled} of ${served} requests; early retries: 0\n`);
  });

  it('gets new tokens when they expire and are revoked mid-run, and loses no page', async () => {
    const ids = h.emulator.data.list('opportunity').map((row) => String(row.opportunityid));
    for (const id of ids.slice(0, 150)) h.emulator.data.update('opportunity', id, { estimatedvalue: 42 });
    h.emulator.faults.latencyMs = 40;
    const issuedBefore = h.emulator.stats.tokensIssued.length;
    const readsBefore = opportunityPageReads();
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    await waitFor('two pages read', () => opportunityPageReads() >= readsBefore + 2);
    h.emulator.faults.expireAllTokens();
    await waitFor('two more pages read', () => opportunityPageReads() >= readsBefore + 4);
    h.emulator.faults.revokeAllTokens();
    const summary = await handle.result();
    h.emulator.faults.latencyMs = 0;
    expect(summary.status).toBe('COMPLETED');
    expect(summary.opportunitiesUpserted).toBe(OPPORTUNITIES);
    // A small first page (firstPageSize), then pages of 20.
    expect(summary.pages).toBe(1 + Math.ceil((OPPORTUNITIES - firstPageSize(20)) / 20));
    expect(h.emulator.stats.expiredTokenRejections).toBeGreaterThanOrEqual(1);
    expect(h.emulator.stats.revokedTokenRejections).toBeGreaterThanOrEqual(1);
    expect(h.emulator.stats.tokensIssued.length).toBeGreaterThanOrEqual(issuedBefore + 2);
    await expectExactStore(h, marketo, expected, OPTIONS);
    process.stdout.write(
      `token rejections: ${h.emulator.stats.expiredTokenRejections} expired, ` +
        `${h.emulator.stats.revokedTokenRejections} revoked; new tokens: ` +
        `${h.emulator.stats.tokensIssued.length - issuedBefore}\n`,
    );
  });

  it('no history holds the client secret or an issued access token', async () => {
    const secrets = [h.dynamicsAuth.clientSecret ?? '', ...h.emulator.stats.tokensIssued];
    expect(secretsFound(await rawHistories(h.client), secrets)).toEqual([]);
  });
});
