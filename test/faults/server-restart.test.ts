import { startSync } from '../../client';
import type { RuleOptions } from '../../rules';
import type { MarketoStore } from '../../store';
import { startDevServer, type DevServer } from '../../temporal';
import { ExpectedStore, readOrganisation, sortSnapshot } from '../support/expected';
import { duplicateKeys, waitFor, resultThroughOutage } from '../support/faults';
import { Harness } from '../support/harness';

const OPTIONS: RuleOptions = { customFields: [] };

describe('a sync across a restart of the Temporal server', () => {
  let h: Harness;
  let marketo: MarketoStore;
  let restarted: DevServer | undefined;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 300, seed: 3 } }, latencyMs: 20 },
      env: { SYNC_PAGE_SIZE: '20' },
    });
    await h.startWorker();
    marketo = await h.openStore();
  });

  afterAll(async () => {
    await h?.stopWorker();
    await restarted?.stop();
    await marketo?.close();
    await h?.close();
  });

  it('resumes from the same SQLite file and completes exactly', async () => {
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    const pageReads = (): number =>
      h.emulator.stats.log.filter((e) => e.method === 'GET' && /\/opportunities$/.test(e.path)).length;
    await waitFor('three opportunity pages read', () => pageReads() >= 3);
    await h.devServer.stop();
    const readsWhileDown = pageReads();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    restarted = await startDevServer({
      mode: 'test',
      dbFile: h.devServer.dbFile,
      port: Number(h.devServer.address.split(':')[1]),
    });
    const summary = await resultThroughOutage(handle);
    expect(summary.status).toBe('COMPLETED');
    expect(summary.workflowId).toBe(handle.workflowId);
    // It went on after the restart rather than finishing before the stop.
    expect(pageReads()).toBeGreaterThan(readsWhileDown);
    const actual = sortSnapshot(await marketo.snapshot());
    expect(duplicateKeys(actual)).toEqual([]);
    expect(actual.opportunities).toHaveLength(300);
    expect(actual).toEqual(expected.next(await readOrganisation(h.dynamicsClient(), OPTIONS)));
    process.stdout.write(
      `Temporal server restarts survived: 1 (${readsWhileDown} of 15 pages read before)\n`,
    );
  });
});
