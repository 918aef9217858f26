import { startSync } from '../../client';
import type { RuleOptions } from '../../rules';
import type { MarketoStore } from '../../store';
import { startCluster, type TemporalCluster } from '../support/cluster';
import { ExpectedStore, expectExactStore } from '../support/expected';
import {
  spawnWorker,
  waitFor,
  type ChildWorker,
  resultThroughOutage,
  resultWhileWorking,
} from '../support/faults';
import { Harness, type HarnessOptions } from '../support/harness';

const OPTIONS: RuleOptions = { customFields: [] };
const PARTITIONS = 4;

/**
 * The fault scenarios on the Temporal server itself (scripts/temporal-cluster.sh: PostgreSQL persistence and
 * visibility), not the dev server: worker processes of their own on one task queue, a backfill in partitions
 * (child workflows spread over the workers) into a PostgreSQL store.
 */
function onTheCluster(
  title: string,
  options: Omit<HarnessOptions, 'store' | 'server'>,
  body: (t: () => Setup) => void,
) {
  describe(title, () => {
    const setup = {} as Setup;
    beforeAll(async () => {
      setup.cluster = await startCluster();
      setup.h = await Harness.start({ ...options, store: 'postgres', server: setup.cluster });
      setup.marketo = await setup.h.openStore();
    }, 20 * 60_000);

    afterAll(async () => {
      for (const worker of setup.workers) await worker.kill('SIGKILL');
      await setup.marketo?.close();
      await setup.h?.close();
      await setup.cluster?.stop();
    });
    setup.workers = [];
    body(() => setup);
  });
}

/**
 * Two worker processes, the second started once the first has: two `oppsync worker`s starting at the same moment
 * on a new PostgreSQL store can both give up on knex's migration lock (see the closing note of 2026-12-02).
 */
async function twoWorkers(h: Harness): Promise<[ChildWorker, ChildWorker]> {
  const first = spawnWorker(h);
  await waitFor('the first worker started', () => first.output.join('').includes('worker started'), 120_000);
  return [first, spawnWorker(h)];
}

interface Setup {
  cluster: TemporalCluster;
  h: Harness;
  marketo: MarketoStore;
  workers: ChildWorker[];
}

onTheCluster(
  'a partitioned backfill on two worker processes, on the Temporal server itself',
  {
    // Pages slow enough (four requests of 60 ms each) that the run is still going after a worker dies.
    emulator: { dataset: { generate: { opportunities: 600, seed: 5 } }, latencyMs: 60 },
    env: { SYNC_PAGE_SIZE: '10' },
  },
  (setup) => {
    it('survives one worker killed and the server restarted mid-run: the store is exact, no row twice', async () => {
      const { h, cluster, marketo, workers } = setup();
      const [a, b] = await twoWorkers(h);
      workers.push(a, b);
      const handle = await startSync(h.client, {
        taskQueue: h.config.temporal.taskQueue,
        full: true,
        partitions: PARTITIONS,
      });
      await waitFor(
        'both workers writing pages',
        () => a.pagesWritten() >= 1 && b.pagesWritten() >= 1,
        180_000,
      );
      await a.kill('SIGKILL');
      expect(a.child.signalCode).toBe('SIGKILL');
      const byKilled = a.pagesWritten();
      const beforeRestart = b.pagesWritten();
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await cluster.restart();
      const summary = await resultWhileWorking(resultThroughOutage(handle), [b]);
      expect(summary.status).toBe('COMPLETED');
      // The surviving worker went on after the restart, and wrote what the killed one had been given.
      expect(b.pagesWritten()).toBeGreaterThan(beforeRestart);
      await expectExactStore(h, marketo, new ExpectedStore(OPTIONS), OPTIONS);
      expect((await marketo.snapshot()).opportunities).toHaveLength(600);
      process.stdout.write(
        `cluster: ${PARTITIONS} partitions on 2 workers, one killed after ${byKilled} pages, the server ` +
          `restarted after ${beforeRestart} more; ${b.pagesWritten()} pages by the survivor, store exact\n`,
      );
    });
  },
);
