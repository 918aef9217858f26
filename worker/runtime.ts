import v8 from 'node:v8';
import { DefaultLogger, Runtime, type LogEntry, type TelemetryOptions } from '@temporalio/worker';
import type { AppConfig } from '../config';
import type { Logger } from '../logging';
import { freePort } from '../temporal';

let installed = false;
let sdkMetrics: string | undefined;

export interface RuntimeInstallOptions {
  /**
   * Where the SDK core exports its own Prometheus metrics (a loopback `host:port`); the worker's metrics
   * endpoint reads them from there and serves them with oppsync's (see metrics/server.ts).
   */
  sdkMetricsAddress?: string;
}

/**
 * Installs the Temporal SDK runtime, a process singleton, once: the SDK's own logs (worker, workflow and
 * activity contexts, with their run and activity ids) go through our JSON logger and, when asked, core's
 * metrics are exported in Prometheus form. A later call changes nothing.
 */
export function installRuntime(logger: Logger, level: string, options: RuntimeInstallOptions = {}): void {
  if (installed) return;
  installed = true;
  const sdkLevel = (
    ['trace', 'debug', 'info', 'warn', 'error'].includes(level) ? level.toUpperCase() : 'WARN'
  ) as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  const sdk = logger.child({ component: 'temporal-sdk' });
  const telemetryOptions: TelemetryOptions | undefined =
    options.sdkMetricsAddress === undefined
      ? undefined
      : {
          metrics: {
            // Prometheus conventions: counters end in _total, durations are seconds and say so.
            prometheus: {
              bindAddress: options.sdkMetricsAddress,
              countersTotalSuffix: true,
              unitSuffix: true,
              useSecondsForDurations: true,
            },
          },
        };
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, (entry: LogEntry) => {
      const meta = { ...(entry.meta ?? {}) };
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      sdk[method](meta, entry.message);
    }),
    ...(telemetryOptions !== undefined ? { telemetryOptions } : {}),
  });
  sdkMetrics = options.sdkMetricsAddress;
}

/**
 * How far V8 lets a heap grow past what its last full collection kept before it collects again, in percent. V8's
 * own factor goes up to 4 when the heap's limit is 2 GiB or more (node's default on a machine of 8 GiB or more),
 * and less below that: 1.3 at 256 MiB, rising to 2 at 2 GiB. A syncing worker keeps about 55 MiB alive (40 of them
 * before its first sync: the SDK, the workflow bundle, the clients), and V8 let its main heap grow to about 210
 * MiB, mostly garbage. At most doubling, the benchmark's worker peak at 100,000 opportunities fell from 474–520 to
 * 401–410 MiB on SQLite and from 432 to 311 MiB on PostgreSQL, for 1–5% more time (2026-12-03,
 * bench/results/heap-growth/). V8 reads this flag at every collection, so it can be set once the process runs.
 */
export const HEAP_GROWING_PERCENT = 100;

/** Below this heap limit V8's own growing factor is at most ours already (see HEAP_GROWING_PERCENT). */
const GROWTH_BOUND_FROM_HEAP_LIMIT = 2 * 1024 * 1024 * 1024;

/**
 * The V8 flag that bounds the heap's growth, or undefined when V8's own bound is as tight (a smaller heap limit,
 * the operator's `--max-old-space-size` among them; setting the flag would loosen it) or when the operator gave
 * node a `--heap-growing-percent` of their own (its command line or NODE_OPTIONS).
 */
export function heapGrowthFlag(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  heapSizeLimit: number,
): string | undefined {
  if (heapSizeLimit < GROWTH_BOUND_FROM_HEAP_LIMIT) return undefined;
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * The runtime for a worker process: with OPPSYNC_METRICS_ADDRESS set, core's Prometheus exporter listens on a
 * free loopback port, private to this process (core cannot bind a port it picks itself and say which); and the
 * heap's growth bounded (heapGrowthFlag).
 */
export async function installWorkerRuntime(logger: Logger, config: AppConfig): Promise<void> {
  const sdkMetricsAddress =
    config.operations.metricsAddress === undefined || installed ? undefined : `127.0.0.1:${await freePort()}`;
  installRuntime(logger, config.logLevel, sdkMetricsAddress === undefined ? {} : { sdkMetricsAddress });
  const flag = heapGrowthFlag(
    process.execArgv,
    process.env.NODE_OPTIONS,
    v8.getHeapStatistics().heap_size_limit,
  );
  if (flag !== undefined) v8.setFlagsFromString(flag);
}

/** Where this process's SDK core exports its metrics; undefined when the runtime was installed without them. */
export function sdkMetricsAddress(): string | undefined {
  return sdkMetrics;
}
