import { randomUUID } from 'node:crypto';
import { countEarlyRetries, type RequestLogEntry } from '@oppsync/dataverse-emulator';
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
 * How long one worker's 429 may take to reach the others: its publication in the store, and their requests
 * already on their way (seen: at most 30 ms).
 */
const PUBLISH_GRACE_MS = 1000;

/**
 * The requests (HTTP requests, not $batch parts) that any worker sent more than `graceMs` after a 429 was
 * answered and before its Retry-After had passed: the limit counts per user, so every worker must wait it out.
 */
function sentDuringAHold(log: readonly RequestLogEntry[], graceMs: number): string[] {
  const holds = log.flatMap((entry) =>
    entry.status === 429 && entry.retryAfterMs !== undefined
      ? [
          {
            from: (entry.answeredAt ?? entry.at) + graceMs,
            until: (entry.answeredAt ?? entry.at) + entry.retryAfterMs,
          },
        ]
      : [],
  );
  return log
    .filter(
      (entry) =>
        entry.batch === undefined && holds.some((hold) => entry.at > hold.from && entry.at < hold.until),
    )
    .map((entry) => `${entry.at} ${entry.key}`);
}

/**
 * This file's own Worker Deployment: the cluster keeps its deployments from run to run, and under
 * OPPSYNC_PROMOTE=first a build makes itself current only in a deployment that has none. In a shared deployment,
 * a checkout whose workflow bundle differs (another path, another commit) would leave new runs routed to the
 * earlier build, which no worker polls (how these scenarios hung on a fresh clone).
 */
const DEPLOYMENT = `oppsync-test-${randomUUID()}`;

function clusterWorker(h: Harness): ChildWorker {
  return spawnWorker(h, { OPPSYNC_DEPLOYMENT_NAME: DEPLOYMENT });
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
      // Started at the same moment on a new store: both migrate it, and neither may give up on the lock.
      const [a, b] = [clusterWorker(h), clusterWorker(h)];
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

onTheCluster(
  'service protection shared by two worker processes, on the Temporal server itself',
  {
    // Dataverse's per-user window, scaled down so that a small backfill crosses it several times.
    emulator: {
      dataset: { generate: { opportunities: 300, seed: 9 } },
      latencyMs: 10,
      limits: { requestsPerWindow: 40, windowSeconds: 3 },
    },
    env: { SYNC_PAGE_SIZE: '10' },
  },
  (setup) => {
    it('a backfill throttled by the per-user window completes exactly, no worker sending during a Retry-After', async () => {
      const { h, marketo, workers } = setup();
      workers.push(clusterWorker(h), clusterWorker(h));
      const handle = await startSync(h.client, {
        taskQueue: h.config.temporal.taskQueue,
        full: true,
        partitions: PARTITIONS,
      });
      const summary = await resultWhileWorking(handle.result(), workers);
      expect(summary.status).toBe('COMPLETED');
      expect(workers.filter((worker) => worker.pagesWritten() > 0)).toHaveLength(2);
      const { throttled, log } = h.emulator.stats;
      expect(throttled).toBeGreaterThan(0);
      // No worker repeats a request of its own before its Retry-After (each worker has a token of its own)...
      expect(countEarlyRetries(log.map((entry) => ({ ...entry, client: entry.tokenId })))).toBe(0);
      // ...and none sends anything during another's, once the hold has had time to reach it. (The user-wide
      // early-retry count would also count a request for the same URL that another worker sent a few ms after
      // the 429, before the hold could reach it: seen once in 13 runs.)
      expect(sentDuringAHold(log, PUBLISH_GRACE_MS)).toEqual([]);
      await expectExactStore(h, marketo, new ExpectedStore(OPTIONS), OPTIONS);
      process.stdout.write(
        `cluster: ${throttled} 429s of ${log.length} requests from 2 workers; no request repeated early, none sent in a hold\n`,
      );
    });
  },
);
