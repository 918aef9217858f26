import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Emulator } from '@oppsync/dataverse-emulator';

export interface WorkerProcess {
  readonly pid: number;
  /** VmHWM of the worker process so far (peak resident set), in bytes. */
  peakRssBytes(): number;
  /** CPU seconds (user + system) the worker process has used so far. */
  cpuSeconds(): number;
  /** SIGTERM, then waits for the exit (in-flight activities finish first). */
  stop(): Promise<void>;
  /**
   * Rejects if the process ends before stop() is called (out of memory, a crash): a sync it was running would
   * otherwise wait for a worker that is gone.
   */
  readonly died: Promise<never>;
}

const READY_TIMEOUT_MS = 120_000;

export interface WorkerTarget {
  emulator: Emulator;
  app: { clientId: string; clientSecret: string };
  temporalAddress: string;
  taskQueue: string;
  storeUrl: string;
  pageSize: number;
  readAhead: boolean;
}

/** The environment of `oppsync worker` against the bench's emulator, dev server and store. */
export function benchWorkerEnv(target: WorkerTarget): Record<string, string> {
  const { emulator, app } = target;
  return {
    DYNAMICS_URL: emulator.url,
    DYNAMICS_TENANT_ID: emulator.tenantId,
    DYNAMICS_AUTHORITY: emulator.authority,
    DYNAMICS_CLIENT_ID: app.clientId,
    DYNAMICS_CLIENT_SECRET: app.clientSecret,
    NODE_EXTRA_CA_CERTS: emulator.caFile,
    MARKETO_DB_URL: target.storeUrl,
    TEMPORAL_ADDRESS: target.temporalAddress,
    TEMPORAL_TASK_QUEUE: target.taskQueue,
    SYNC_PAGE_SIZE: String(target.pageSize),
    SYNC_READ_AHEAD: String(target.readAhead),
    LOG_LEVEL: 'info',
  };
}

/** What the worker process runs with beyond the defaults: its memory depends on these, so results record them. */
export interface WorkerProcessSettings {
  /** From OPPSYNC_BENCH_WORKER_NODE_ARGS, e.g. '--max-old-space-size=128' or '--cpu-prof --cpu-prof-dir=/tmp/prof'. */
  nodeArgs: string[];
  /** Inherited from the bench's environment. */
  NODE_OPTIONS?: string;
  /** glibc's malloc arenas (inherited): fewer arenas, less memory held by the worker's threads. */
  MALLOC_ARENA_MAX?: string;
  /** glibc's threshold for giving a large allocation its own mapping (inherited): freed, it goes back at once. */
  MALLOC_MMAP_THRESHOLD_?: string;
}

export function workerProcessSettings(): WorkerProcessSettings {
  const { OPPSYNC_BENCH_WORKER_NODE_ARGS, NODE_OPTIONS, MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ } =
    process.env;
  return {
    nodeArgs: (OPPSYNC_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== ''),
    ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
    ...(MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX } : {}),
    ...(MALLOC_MMAP_THRESHOLD_ ? { MALLOC_MMAP_THRESHOLD_ } : {}),
  };
}

/** The settings in one line for a report, or '' when there are none. */
export function describeWorkerProcessSettings(settings: WorkerProcessSettings): string {
  const parts = [
    ...(settings.MALLOC_ARENA_MAX !== undefined ? [`MALLOC_ARENA_MAX=${settings.MALLOC_ARENA_MAX}`] : []),
    ...(settings.MALLOC_MMAP_THRESHOLD_ !== undefined
      ? [`MALLOC_MMAP_THRESHOLD_=${settings.MALLOC_MMAP_THRESHOLD_}`]
      : []),
    ...(settings.NODE_OPTIONS !== undefined ? [`NODE_OPTIONS="${settings.NODE_OPTIONS}"`] : []),
    ...settings.nodeArgs,
  ];
  return parts.join(' ');
}

/**
 * `node bin/oppsync.js worker` as its own process, so its peak memory is its own. Resolves once it logs
 * "worker started" (the workflow bundle is built and it polls the task queue).
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  logFile: string,
): Promise<WorkerProcess> {
  // OPPSYNC_BENCH_WORKER_BIN: another build's command (an older commit built beside this one), to compare them.
  const bin =
    process.env.OPPSYNC_BENCH_WORKER_BIN ?? path.resolve(__dirname, '..', '..', 'bin', 'oppsync.js');
  const log = fs.createWriteStream(logFile);
  const child = spawn(process.execPath, [...workerProcessSettings().nodeArgs, bin, 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const died = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code, signal) => {
      if (!stopping) reject(new Error(`the worker exited (${signal ?? `code ${code}`}); see ${logFile}`));
    }),
  );
  died.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`worker not ready within ${READY_TIMEOUT_MS} ms (see ${logFile})`)),
      READY_TIMEOUT_MS,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      buffered = (buffered + chunk.toString('utf8')).slice(-10_000);
      if (buffered.includes('"worker started"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with code ${code} before it was ready (see ${logFile})`));
    });
  });
  return {
    pid: child.pid ?? -1,
    peakRssBytes: () => peakRss(child),
    cpuSeconds: () => cpuSeconds(child),
    died,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
}

function peakRss(child: ChildProcess): number {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${child.pid}/status`);
  return Number(match[1]) * 1024;
}

/** utime + stime from /proc/<pid>/stat, in clock ticks of 1/100 s (USER_HZ on Linux). */
function cpuSeconds(child: ChildProcess): number {
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until the deployment has a current version whose routing has reached the task queues. A worker makes
 * its build current only once it polls, and the server then takes a moment to route new runs to it; a run started
 * meanwhile waits for both, which a scheduled run on a deployed worker never does, so the benchmark does not
 * measure it.
 */
export async function untilRoutedToCurrent(client: Client, deploymentName = 'oppsync'): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const { ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS } = temporal.api.enums.v1.RoutingConfigUpdateState;
  while (Date.now() < deadline) {
    const described = await client.workflowService
      .describeWorkerDeployment({ namespace: client.options.namespace, deploymentName })
      .catch(() => undefined);
    const info = described?.workerDeploymentInfo;
    if (
      info?.routingConfig?.currentDeploymentVersion?.buildId &&
      info.routingConfigUpdateState !== ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `no current version of the worker deployment ${deploymentName} within ${READY_TIMEOUT_MS} ms`,
  );
}
