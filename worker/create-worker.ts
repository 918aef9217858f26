import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import {
  activityCancellation,
  createMarketoActivities,
  createSyncActivities,
  heartbeatIfInActivity,
  READS_AHEAD_PER_RUN,
  RunStates,
} from '../activities';
import { dataConverter, temporalConnectionOptions } from '../temporal';
import type { AppConfig, PromotePolicy } from '../config';
import { DynamicsClient, type DynamicsAuthConfig } from '../dynamics';
import type { Logger } from '../logging';
import { OppsyncMetrics, readStoreGauges, startMetricsServer, type MetricsServer } from '../metrics';
import { CallBudget, createMarketoDestination, type MarketoConnection, type QuotaUsage } from '../marketo';
import { MarketoStore } from '../store';
import { ensureSearchAttributes } from '../temporal';
import { defaultBuildId, promoteAndReport, type PromotionOutcome } from './deployment';
import { sdkMetricsAddress } from './runtime';

export interface SyncWorkerOptions {
  config: AppConfig;
  /** Where and how to reach Dynamics (from configuration, or the bundled emulator's address and demo app). */
  dynamics: DynamicsAuthConfig;
  /** Where to push (SPEC section 7): from MARKETO_REST_URL, or the bundled Marketo emulator; undefined: no push. */
  marketo?: MarketoConnection;
  logger: Logger;
  /** Reuse a connection (tests, `oppsync dev`); otherwise one is made from the configuration. */
  connection?: NativeConnection;
  /** Pre-bundled workflow code: bundling takes seconds, so tests bundle once per file. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  taskQueue?: string;
  /** Identity shown in the Temporal UI for activities this worker ran. */
  identity?: string;
  maxConcurrentActivityTaskExecutions?: number;
  /** Overrides OPPSYNC_PROMOTE (the demo's only worker always makes its build current). */
  promote?: PromotePolicy;
}

export interface SyncWorker {
  readonly worker: Worker;
  readonly store: MarketoStore;
  readonly dynamics: DynamicsClient;
  /** The Worker Deployment Version this worker polls as (its build id derived from the workflow code by default). */
  readonly version: WorkerDeploymentVersion;
  /** Settles once the server knows this version and the worker has decided whether it takes new runs. */
  readonly promotion: Promise<PromotionOutcome>;
  /** Runs until shutdown() (or the signal handlers the CLI installs), then closes the store and connection. */
  run(): Promise<void>;
  runUntil<R>(promise: Promise<R>): Promise<R>;
  shutdown(): void;
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

/** Where `npm run build` puts the pre-bundled workflow code (dist/workflow-bundle.js). */
export function prebuiltWorkflowBundlePath(): string {
  return path.join(__dirname, '..', 'workflow-bundle.js');
}

/**
 * The workflow code and its text (the default build id is its digest): the given bundle, the pre-built one when
 * running from dist/, else the sources bundled here.
 */
async function workflowCode(
  given: WorkflowBundleWithSourceMap | undefined,
): Promise<{ workflowBundle: WorkflowBundleOption; code: string }> {
  if (given !== undefined) return { workflowBundle: given, code: given.code };
  const prebuilt = prebuiltWorkflowBundlePath();
  if (fs.existsSync(prebuilt))
    return { workflowBundle: { codePath: prebuilt }, code: fs.readFileSync(prebuilt, 'utf8') };
  const bundle = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: Runtime.instance().logger,
  });
  return { workflowBundle: bundle, code: bundle.code };
}

/**
 * Worker versioning: every run is pinned to the build whose worker took its first workflow task, and finishes on
 * it (its continued-as-new runs and a backfill's partitions too, the server's default for a pinned run); a new
 * build only takes new runs once it is the deployment's current version.
 */
function deploymentOptions(version: WorkerDeploymentVersion) {
  return { useWorkerVersioning: true, version, defaultVersioningBehavior: 'PINNED' } as const;
}

/** Activity polls a worker keeps open: each holds a slot, which eager dispatch would otherwise use. */
const ACTIVITY_POLLS = 1;

/**
 * Workflow code runs on the worker's main thread, in the SDK's reusable VM context, instead of on a thread of
 * its own: a sync's workflow does a few tasks per page, each a millisecond or two, and its own thread is a third
 * V8 isolate (about 38 MiB of the worker's resident memory before the first sync, measured by the benchmark).
 * The SDK names this mode after the debugger it lets attach; its only other effect is that the deadlock
 * detector's timeout defaults to none, so it is set back to the SDK's usual 5 s.
 */
export const WORKFLOWS_ON_MAIN_THREAD = { debugMode: true, isolateExecutionTimeout: '5s' } as const;

/**
 * The worker's Prometheus endpoint, when OPPSYNC_METRICS_ADDRESS is set; otherwise nothing is counted and
 * nothing listens.
 */
async function serveMetrics(
  config: AppConfig,
  store: MarketoStore,
  logger: Logger,
  quota: (() => Promise<QuotaUsage>) | undefined,
): Promise<{ metrics: OppsyncMetrics; server: MetricsServer } | undefined> {
  const address = config.operations.metricsAddress;
  if (address === undefined) return undefined;
  const metrics = new OppsyncMetrics({ syncIntervalMs: config.sync.intervalMs });
  try {
    const server = await startMetricsServer({
      address,
      metrics,
      readStore: () => readStoreGauges(store, quota),
      sdkMetricsAddress: sdkMetricsAddress(),
      logger,
    });
    return { metrics, server };
  } catch (error) {
    throw new Error(`OPPSYNC_METRICS_ADDRESS: cannot listen on ${address}: ${(error as Error).message}`);
  }
}

/**
 * A worker on the sync's task queue: checks (and where allowed registers) the namespace's search attributes,
 * migrates the store, then serves the workflow and its activities.
 */
export async function createSyncWorker(options: SyncWorkerOptions): Promise<SyncWorker> {
  const { config, logger } = options;
  const ownConnection = options.connection === undefined;
  const connection =
    options.connection ?? (await NativeConnection.connect(temporalConnectionOptions(config.temporal)));
  try {
    const registered = await ensureSearchAttributes(connection.operatorService, config.temporal.namespace, {
      register: true,
    });
    if (registered.length > 0)
      logger.info({ namespace: config.temporal.namespace, registered }, 'registered search attributes');
  } catch (error) {
    if (ownConnection) await connection.close();
    throw error;
  }
  const { workflowBundle, code } = await workflowCode(options.workflowBundle);
  const version: WorkerDeploymentVersion = {
    deploymentName: config.operations.deploymentName,
    buildId: config.operations.buildId ?? defaultBuildId(code),
  };
  const store = await MarketoStore.open(config.storeUrl, { pageWriterThread: true });
  await store.migrate();
  let served: Awaited<ReturnType<typeof serveMetrics>>;
  try {
    const budget = options.marketo === undefined ? undefined : new CallBudget(store.knex, config.marketo);
    served = await serveMetrics(config, store, logger, budget && (() => budget.usage()));
  } catch (error) {
    await store.close();
    if (ownConnection) await connection.close();
    throw error;
  }
  const { metrics, server: metricsServer } = served ?? {};
  // Waiting out a Retry-After heartbeats, so a long service-protection pause never times the activity out.
  const dynamics = new DynamicsClient({
    ...options.dynamics,
    pageSize: config.sync.pageSize,
    onWait: () => heartbeatIfInActivity(),
    // Past the shutdown grace time the SDK cancels running activities: their requests stop, and Temporal
    // gives the page to another worker.
    signal: activityCancellation,
    ...(metrics !== undefined
      ? {
          observer: {
            requestSent: () => metrics.dynamicsRequest(),
            throttled: () => metrics.dynamicsThrottle(),
          },
        }
      : {}),
  });
  const runs = RunStates.reading(config.sync.readAhead);
  const activities = createSyncActivities({
    store,
    dynamics,
    runs,
    sync: config.sync,
    logger: logger.child({ component: 'activities' }),
    ...(metrics !== undefined ? { metrics } : {}),
  });
  const marketoActivities = createMarketoActivities({
    store,
    destination:
      options.marketo === undefined
        ? undefined
        : createMarketoDestination({
            connection: options.marketo,
            config: config.marketo,
            store,
            signal: activityCancellation,
          }),
    logger: logger.child({ component: 'marketo' }),
    ...(metrics !== undefined ? { metrics } : {}),
  });
  const namespace = config.temporal.namespace;
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const close = async (): Promise<void> => {
    // Pages still being read ahead finish first (within the shutdown grace time): none reads a closed store.
    await Promise.race([runs.endAll(), delay(config.operations.shutdownGraceMs, undefined, { ref: false })]);
    await metricsServer?.close();
    await store.close();
    if (ownConnection) await connection.close();
  };
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(options.identity === undefined ? {} : { identity: options.identity }),
    activities: { ...activities, ...marketoActivities },
    dataConverter: dataConverter(config),
    // A poll holds an activity slot while it waits, and eager dispatch needs a free one: one poll, and a slot for
    // each read a run reads ahead on this worker, taken by the page activities its own workflow tasks schedule
    // (docs/decisions.md, "Reading ahead").
    maxConcurrentActivityTaskExecutions:
      options.maxConcurrentActivityTaskExecutions ?? READS_AHEAD_PER_RUN + ACTIVITY_POLLS,
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum: ACTIVITY_POLLS },
    // On SIGTERM the worker stops polling and lets running activities (a page being written) finish for this
    // long before it cancels them; the SDK's default, 0, would cancel a page write at once.
    shutdownGraceTime: config.operations.shutdownGraceMs,
    ...WORKFLOWS_ON_MAIN_THREAD,
    workflowBundle,
    workerDeploymentOptions: deploymentOptions(version),
  }).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  logger.info({ ...version, taskQueue }, 'worker deployment version');
  const policy = options.promote ?? config.operations.promote;
  const stopped = (): boolean => !['INITIALIZED', 'RUNNING'].includes(worker.getState());
  let promote!: () => void;
  const promotion = new Promise<PromotionOutcome>((resolve) => {
    promote = () =>
      resolve(promoteAndReport({ connection, namespace, taskQueue, version, policy, logger, stopped }));
  });
  return {
    worker,
    store,
    dynamics,
    version,
    promotion,
    async run() {
      try {
        // The server learns of this version from the worker's first poll, so promotion waits for run().
        const running = worker.run();
        promote();
        await running;
      } finally {
        await close();
      }
    },
    async runUntil<R>(promise: Promise<R>): Promise<R> {
      try {
        const running = worker.runUntil(promise);
        promote();
        return await running;
      } finally {
        await close();
      }
    },
    shutdown() {
      // The SDK runtime also shuts workers down on SIGINT/SIGTERM itself; a second request is a no-op.
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
