/**
 * `npm run bench -- --partitions 1,2,4`: one partitioned full sync (workflow `opportunityBackfill`) per count,
 * each into a fresh store with fresh worker processes, so every run writes everything and its memory is its own.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { runSync } from '../client';
import type { DynamicsAuthConfig } from '../dynamics';
import type { Emulator, RequestLogEntry } from '@oppsync/dataverse-emulator';
import { MarketoStore } from '../store';
import { historyStats, type HistoryStats } from './history';
import type { PartitionRunFigures, WorkerFigures } from './partition-report';
import { createTargetStore } from './target-store';
import {
  benchWorkerEnv,
  startWorkerProcess,
  untilRoutedToCurrent,
  type WorkerProcess,
} from './worker-process';

const MIB = 2 ** 20;

/**
 * CPU seconds the whole machine has been busy (every process: the emulator, the workers, PostgreSQL, the Temporal
 * server), from /proc/stat; undefined off Linux. Its clock ticks are USER_HZ, 100 a second on Linux.
 */
function machineBusySeconds(): number | undefined {
  try {
    const [, ...fields] = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    const ticks = fields.map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (ticks.reduce((sum, value) => sum + value, 0) - idle) / 100;
  } catch {
    return undefined;
  }
}

/** What each request the emulator logged read (see `PartitionRunFigures.requestsByKind`). */
export function requestKinds(log: readonly RequestLogEntry[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const entry of log) {
    const inBatch = entry.path.startsWith('$batch:');
    const set =
      entry.path
        .replace(/^\$batch:/, '')
        .split('/')
        .pop() ?? entry.path;
    const link = entry.key.includes('$deltatoken=')
      ? ', delta'
      : entry.key.includes('$skiptoken=')
        ? ', next'
        : '';
    const kind = inBatch
      ? `in $batch: ${set}`
      : set === '$batch'
        ? '$batch'
        : `${entry.method} ${set}${link}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => a.localeCompare(b)));
}

export interface PartitionBenchContext {
  client: Client;
  emulator: Emulator;
  app: { clientId: string; clientSecret: string };
  dynamicsAuth: DynamicsAuthConfig;
  temporalAddress: string;
  store: 'sqlite' | 'postgres';
  /** Where SQLite files go (a PostgreSQL store is a new database instead). */
  tempDir: string;
  pageSize: number;
  workers: number;
  readAhead: boolean;
  say(message: string): void;
}

/** A full sync split into `partitions` key ranges (1: the plain full sync `runSync` starts for one). */
export async function measurePartitionedFull(
  context: PartitionBenchContext,
  partitions: number,
): Promise<PartitionRunFigures> {
  const { client, emulator } = context;
  const store = await createTargetStore(context.store, context.tempDir, `partitions_${partitions}`);
  const taskQueue = `bench-partitions-${partitions}-${randomUUID()}`;
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 1; i <= context.workers; i += 1) {
      // One after the other: each migrates the fresh store when it starts.
      const log = path.join(os.tmpdir(), `oppsync-bench-worker-${process.pid}-p${partitions}-w${i}.log`);
      const env = benchWorkerEnv({
        emulator,
        app: context.app,
        temporalAddress: context.temporalAddress,
        taskQueue,
        storeUrl: store.url,
        pageSize: context.pageSize,
        readAhead: context.readAhead,
      });
      workers.push(await startWorkerProcess(env, log));
      context.say(`  worker ${i} (pid ${workers[i - 1]?.pid}) ready, log ${log}`);
    }
    await untilRoutedToCurrent(context.client);
    const idlePeaks = workers.map((worker) => worker.peakRssBytes());
    const cpuBefore = workers.map((worker) => worker.cpuSeconds());

    emulator.stats.reset();
    const loadBefore = os.loadavg();
    const busyBefore = machineBusySeconds();
    const ownCpuBefore = process.cpuUsage();
    const workflowId = `bench-partitions-${partitions}-${randomUUID()}`;
    const started = performance.now();
    const outcome = await Promise.race([
      runSync(client, { taskQueue, full: true, partitions, workflowId }),
      ...workers.map((worker) => worker.died),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const busyAfter = machineBusySeconds();
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const requests = emulator.stats.requests;
    const requestsByKind = requestKinds(emulator.stats.log);
    const throttled = emulator.stats.throttled;
    const tokenRequests = emulator.stats.tokenRequests;
    const loadAfter = os.loadavg();
    if (outcome.summary.status !== 'COMPLETED')
      throw new Error(`the full sync in ${partitions} partitions failed: ${outcome.error ?? '?'}`);
    const summary = outcome.summary;

    const contents = await storeContents(store.url);
    const history = await familyHistory(client, workflowId, summary.runId, partitions);
    const written = summary.opportunitiesUpserted + summary.opportunitiesDeleted;
    const workerFigures: WorkerFigures[] = workers.map((worker, i) => ({
      pid: worker.pid,
      activities: activitiesOf(history.activitiesByWorker, worker.pid),
      idlePeakRssMiB: (idlePeaks[i] ?? 0) / MIB,
      peakRssMiB: worker.peakRssBytes() / MIB,
      cpuSeconds: worker.cpuSeconds() - (cpuBefore[i] ?? 0),
    }));
    return {
      partitions,
      workers: workerFigures,
      seconds,
      opportunitiesWritten: written,
      opportunitiesInStore: contents.opportunities,
      ...(contents.bytes !== undefined ? { storeMiB: contents.bytes / MIB } : {}),
      opportunitiesPerSecond: written / seconds,
      pages: summary.pages,
      dynamicsRequests: requests,
      requestsByKind,
      tokenRequests,
      throttled,
      workflows: history.workflows,
      runs: history.runs,
      historyEvents: history.events,
      largestPayloadBytes: history.largestPayloadBytes,
      activitySeconds: history.activitySeconds,
      pagePhaseSeconds: seconds - (history.activitySeconds.beginSync ?? 0),
      partitionSeconds: history.partitionSeconds,
      emulatorCpuSeconds: (ownCpu.user + ownCpu.system) / 1e6,
      loadBefore,
      loadAfter,
      ...(busyBefore !== undefined && busyAfter !== undefined
        ? { machineBusyCores: (busyAfter - busyBefore) / seconds }
        : {}),
    };
  } finally {
    for (const worker of workers) await worker.stop();
    await store.drop();
  }
}

/** History of the parent and of every child `<parentId>-partition-<i>`, every run of each summed. */
async function familyHistory(
  client: Client,
  workflowId: string,
  runId: string,
  partitions: number,
): Promise<HistoryStats & { workflows: number; partitionSeconds: number[] }> {
  const total = {
    ...(await historyStats(client, workflowId, runId)),
    workflows: 1,
    partitionSeconds: [] as number[],
  };
  // One partition is the plain full sync: no children.
  if (partitions === 1) return total;
  for (let i = 1; i <= partitions; i += 1) {
    const childId = `${workflowId}-partition-${i}`;
    const described = await client.workflow.getHandle(childId).describe();
    const child = await historyStats(client, childId, described.runId);
    // Start to close of the last run: a partition's whole time while it has not continued as new.
    const closed = described.closeTime?.getTime() ?? Number.NaN;
    total.partitionSeconds.push((closed - described.startTime.getTime()) / 1000);
    total.workflows += 1;
    total.runs += child.runs;
    total.events += child.events;
    total.largestPayloadBytes = Math.max(total.largestPayloadBytes, child.largestPayloadBytes);
    for (const [type, value] of Object.entries(child.activitySeconds))
      total.activitySeconds[type] = (total.activitySeconds[type] ?? 0) + value;
    for (const [identity, value] of Object.entries(child.activitiesByWorker))
      total.activitiesByWorker[identity] = (total.activitiesByWorker[identity] ?? 0) + value;
  }
  return total;
}

/** The SDK's default worker identity is `<pid>@<host>`. */
function activitiesOf(byWorker: Record<string, number>, pid: number): number {
  return Object.entries(byWorker)
    .filter(([identity]) => identity.startsWith(`${pid}@`))
    .reduce((sum, [, count]) => sum + count, 0);
}

/**
 * What the store holds afterwards: proof that the run wrote every opportunity, not only what it reported, and
 * its size on disk (PostgreSQL: the database, indexes included; SQLite: undefined, the file is measured apart).
 */
async function storeContents(url: string): Promise<{ opportunities: number; bytes?: number }> {
  const store = await MarketoStore.open(url);
  try {
    const [row] = await store.knex('opportunities').count<{ count: number | string }[]>({ count: '*' });
    const opportunities = Number(row?.count ?? 0);
    if (!url.startsWith('postgres')) return { opportunities };
    const size = await store.knex.raw<{ rows: { bytes: string }[] }>(
      'select pg_database_size(current_database()) as bytes',
    );
    return { opportunities, bytes: Number(size.rows[0]?.bytes) };
  } finally {
    await store.close();
  }
}
