/**
 * `npm run bench`: seeds the emulator with a generated organisation, runs a full and then an incremental sync
 * through the real Temporal dev server and a worker process into SQLite or PostgreSQL, measures the limit
 * (bare reads + bare inserts) in the same run, prints a table and writes a JSON result.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { runSync } from '../client';
import { opportunityTable, type DynamicsAuthConfig } from '../dynamics';
import { startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import type { SyncSummary } from '../workflows';
import { startDevServer } from '../temporal';
import { historyStats } from './history';
import { bareReadSeconds, bulkInsertSeconds } from './limit';
import {
  checkChange,
  marketoRunFigures,
  marketoTable,
  startMarketoBench,
  type MarketoBench,
} from './marketo';
import { measureBaselines } from './baselines';
import { parseBenchOptions, type BenchOptions } from './options';
import { changeOrganisation } from './organisation';
import { partitionTable, type PartitionBenchResult, type PartitionRunFigures } from './partition-report';
import { measurePartitionedFull, type PartitionBenchContext } from './partitions';
import {
  describeMachine,
  resultTable,
  writeResult,
  type BenchResult,
  type LimitFigures,
  type RepeatFigures,
  type RunFigures,
} from './report';
import { createTargetStore } from './target-store';
import {
  benchWorkerEnv,
  startWorkerProcess,
  untilRoutedToCurrent,
  workerProcessSettings,
  type WorkerProcess,
} from './worker-process';

const MIB = 2 ** 20;

function say(message: string): void {
  process.stderr.write(
    `[bench ${new Date().toISOString().slice(11, 19)} load ${os.loadavg()[0]?.toFixed(2)}] ${message}\n`,
  );
}

async function timedSync(
  client: Client,
  taskQueue: string,
  full: boolean,
  emulator: Emulator,
  worker: WorkerProcess,
  marketo: MarketoBench | undefined,
): Promise<RunFigures> {
  emulator.stats.reset();
  marketo?.emulator.stats.reset();
  const workflowId = `bench-${full ? 'full' : 'incremental'}-${randomUUID()}`;
  const workerCpuBefore = worker.cpuSeconds();
  const ownCpuBefore = process.cpuUsage();
  const started = performance.now();
  const outcome = await Promise.race([runSync(client, { taskQueue, full, workflowId }), worker.died]);
  const seconds = (performance.now() - started) / 1000;
  const workerCpuSeconds = worker.cpuSeconds() - workerCpuBefore;
  const ownCpu = process.cpuUsage(ownCpuBefore);
  if (outcome.summary.status !== 'COMPLETED')
    throw new Error(`the ${full ? 'full' : 'incremental'} sync failed: ${outcome.error ?? '?'}`);
  const summary: SyncSummary = outcome.summary;
  const requests = emulator.stats.requests;
  const tokenRequests = emulator.stats.tokenRequests;
  const history = await historyStats(client, workflowId, summary.runId);
  const written = summary.opportunitiesUpserted + summary.opportunitiesDeleted;
  const per1000 = (value: number): number => (written === 0 ? 0 : (value * 1000) / written);
  return {
    seconds,
    opportunitiesPerSecond: written / seconds,
    opportunitiesWritten: written,
    pages: summary.pages,
    dynamicsRequests: requests,
    tokenRequests,
    requestsPer1000: per1000(requests),
    runs: history.runs,
    historyEvents: history.events,
    eventsPer1000: per1000(history.events),
    eventsPerPage: summary.pages === 0 ? 0 : history.events / summary.pages,
    largestPayloadBytes: history.largestPayloadBytes,
    activitySeconds: history.activitySeconds,
    firstPageSeconds: history.firstPageSeconds,
    laterPageSeconds: history.laterPageSeconds,
    workerPeakRssMiB: worker.peakRssBytes() / MIB,
    workerCpuSeconds,
    emulatorCpuSeconds: (ownCpu.user + ownCpu.system) / 1e6,
    load: os.loadavg()[0] ?? 0,
    ...(marketo !== undefined ? { marketo: marketoRunFigures(marketo, summary.marketo) } : {}),
  };
}

function sayPush(run: RunFigures): void {
  const m = run.marketo;
  if (m === undefined) return;
  say(
    `  Marketo: ${m.recordsTotal} records in ${m.posts} POSTs + ${m.gets} GETs (floor ${m.floorCalls}, ${m.callsPerFloor.toFixed(3)}×), push ${m.pushSeconds.toFixed(1)} s (floor ${m.floorSeconds.toFixed(1)} s, ${m.pushPerFloor.toFixed(3)}×), most in 20 s ${m.maxCallsInAnyWindow}`,
  );
}

/** `--partitions`: a partitioned full sync per count instead of the full + incremental measurement. */
async function partitionBench(
  context: PartitionBenchContext,
  options: BenchOptions,
  about: Pick<PartitionBenchResult, 'startedAt' | 'organisation'>,
): Promise<void> {
  say('change-tracking baselines, each table alone, then the related tables side by side');
  const baselines = await measureBaselines(context.dynamicsAuth);
  say(`  ${JSON.stringify(baselines)}`);
  const runs: PartitionRunFigures[] = [];
  for (const partitions of options.partitions ?? []) {
    say(`full sync in ${partitions} partition(s), ${context.workers} worker process(es), fresh store`);
    const run = await measurePartitionedFull(context, partitions);
    say(
      `  ${partitions}: ${run.seconds.toFixed(2)} s (page phase ${run.pagePhaseSeconds.toFixed(2)} s), ${run.opportunitiesWritten} written, ${run.dynamicsRequests} requests, ${run.throttled} 429s, ${run.historyEvents} events`,
    );
    say(`  requests by kind: ${JSON.stringify(run.requestsByKind)}`);
    runs.push(run);
  }
  const result: PartitionBenchResult = {
    ...about,
    machine: describeMachine(),
    options: { ...options },
    baselines,
    runs,
  };
  const out =
    options.out ?? path.join('bench', 'results', `partitions-${options.store}-${options.opportunities}.json`);
  writeResult(out, result);
  process.stdout.write(`${partitionTable(result)}\n\nwritten to ${out}\n`);
}

/** What every repetition of the full sync against its limit shares. */
interface MeasureSetup {
  options: BenchOptions;
  tempDir: string;
  emulator: Emulator;
  app: { clientId: string; clientSecret: string };
  dynamicsAuth: DynamicsAuthConfig;
  client: Client;
  temporalAddress: string;
  /** With `--marketo`: the worker pushes here after each run. */
  marketo?: MarketoBench;
}

/** One full sync and its limit; the worker and the synced store stay for an incremental sync. */
interface FullAgainstLimit {
  worker: WorkerProcess;
  taskQueue: string;
  workerIdlePeakMiB: number;
  full: RunFigures;
  limit: LimitFigures;
  /** Stops the worker and drops the stores. */
  readonly release: () => Promise<void>;
}

/** The limit's read, a full sync in a fresh store by a fresh worker, then the limit's insert of its rows. */
async function measureFullAgainstLimit(setup: MeasureSetup, repetition: number): Promise<FullAgainstLimit> {
  const { options, tempDir, emulator, app, dynamicsAuth, client, marketo } = setup;
  const held: (() => Promise<void>)[] = [];
  const release = async (): Promise<void> => {
    for (const step of held.splice(0))
      await step().catch((error: unknown) => say(`cleanup: ${String(error)}`));
  };
  try {
    const syncStore = await createTargetStore(options.store, tempDir, `sync_${repetition}`);
    held.push(() => syncStore.drop());
    const taskQueue = `bench-${randomUUID()}`;

    say('limit: bare client reads every opportunity page');
    const select = opportunityTable([], undefined).select;
    const read = await bareReadSeconds(dynamicsAuth, options.pageSize, select);
    say(`  ${read.pages} pages, ${read.records} records in ${read.seconds.toFixed(2)} s`);

    // Outside the temporary folder, so it stays for a look after the run.
    const workerLog = path.join(os.tmpdir(), `oppsync-bench-worker-${process.pid}-${repetition}.log`);
    // A fresh store knows nothing of Marketo: it starts empty too, so the full push sends everything anew.
    marketo?.emulator.data.clear();
    const worker = await startWorkerProcess(
      {
        ...benchWorkerEnv({
          emulator,
          app,
          temporalAddress: setup.temporalAddress,
          taskQueue,
          storeUrl: syncStore.url,
          pageSize: options.pageSize,
          readAhead: options.readAhead,
        }),
        ...marketo?.workerEnv,
      },
      workerLog,
    );
    held.unshift(() => worker.stop());
    await untilRoutedToCurrent(client);
    const workerIdlePeakMiB = worker.peakRssBytes() / MIB;
    say(
      `worker ${worker.pid} ready, peak RSS ${workerIdlePeakMiB.toFixed(0)} MiB (log: ${workerLog}); full sync`,
    );
    const full = await timedSync(client, taskQueue, true, emulator, worker, marketo);
    say(
      `  full: ${full.seconds.toFixed(2)} s, ${full.dynamicsRequests} requests, ${full.historyEvents} events`,
    );
    sayPush(full);

    say('limit: bulk insert of the synced rows into a fresh store');
    const insertStore = await createTargetStore(options.store, tempDir, `insert_${repetition}`);
    held.push(() => insertStore.drop());
    const insert = await bulkInsertSeconds(syncStore.url, insertStore.url, options.pageSize);
    const limit: LimitFigures = {
      readSeconds: read.seconds,
      readPages: read.pages,
      insertSeconds: insert.seconds,
      insertRows: insert.rows,
      ratio: full.seconds / (read.seconds + insert.seconds),
    };
    say(
      `  ${insert.rows} rows in ${insert.seconds.toFixed(2)} s; full sync / limit ${limit.ratio.toFixed(2)}×`,
    );
    return { worker, taskQueue, workerIdlePeakMiB, full, limit, release };
  } catch (error) {
    await release();
    throw error;
  }
}

function repeatFigures({ full, limit }: FullAgainstLimit): RepeatFigures {
  return {
    fullSeconds: full.seconds,
    readSeconds: limit.readSeconds,
    insertSeconds: limit.insertSeconds,
    ratio: limit.ratio,
    workerPeakRssMiB: full.workerPeakRssMiB,
    workerCpuSeconds: full.workerCpuSeconds,
    emulatorCpuSeconds: full.emulatorCpuSeconds,
  };
}

async function main(options: BenchOptions): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = os.loadavg();
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-bench-'));
  const app = { clientId: randomUUID(), clientSecret: `bench-${randomBytes(18).toString('base64url')}` };
  const cleanups: (() => Promise<void>)[] = [];
  try {
    say(`seeding ${options.opportunities} opportunities`);
    const emulator = await startEmulator({
      dataset: { generate: { opportunities: options.opportunities } },
      clients: [app],
      latencyMs: options.latencyMs,
      // By default the benchmark measures the sync, not service protection: one client may send as much as it
      // needs. With --service-protection the emulator's limits are Dataverse's documented ones.
      limits: options.serviceProtection ? {} : { requestsPerWindow: 1_000_000 },
    });
    cleanups.push(() => emulator.close());
    const marketo = options.marketo
      ? await startMarketoBench(options.marketoLatencyMs, emulator.caPem, tempDir)
      : undefined;
    if (marketo !== undefined) {
      cleanups.push(() => marketo.emulator.close());
      say(`Marketo emulator at ${marketo.emulator.url}, ${options.marketoLatencyMs} ms a call`);
    }
    const organisation = {
      opportunities: options.opportunities,
      // Counted, not listed: a list copies every row, and at a million the copies (about 2 GB) were garbage the
      // bench process collected during the limit's read, which they slowed by half.
      contacts: emulator.data.count('contact'),
      accounts: emulator.data.count('account'),
      connections: emulator.data.count('connection'),
    };
    say(`organisation: ${JSON.stringify(organisation)}`);

    let temporalAddress = options.temporalAddress;
    if (temporalAddress === undefined) {
      const devServer = await startDevServer({ mode: 'test' });
      cleanups.push(() => devServer.stop());
      temporalAddress = devServer.address;
    }
    const connection = await Connection.connect({ address: temporalAddress });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    const dynamicsAuth = {
      url: emulator.url,
      tenantId: emulator.tenantId,
      authority: emulator.authority,
      ...app,
      ca: emulator.caPem,
    };
    if (options.partitions !== undefined) {
      const context = { client, emulator, app, dynamicsAuth, tempDir, say, ...options, temporalAddress };
      await partitionBench(context, options, { startedAt, organisation });
      return;
    }
    const setup: MeasureSetup = {
      options,
      tempDir,
      emulator,
      app,
      dynamicsAuth,
      client,
      temporalAddress,
      ...(marketo !== undefined ? { marketo } : {}),
    };
    // Each repetition: a fresh store and worker; the incremental sync runs after the last one.
    const repeats: RepeatFigures[] = [];
    const measure = async (repetition: number): Promise<FullAgainstLimit> => {
      if (options.repeat > 1) say(`repetition ${repetition} of ${options.repeat}`);
      const measured = await measureFullAgainstLimit(setup, repetition);
      repeats.push(repeatFigures(measured));
      return measured;
    };
    let last = await measure(1);
    for (let repetition = 2; repetition <= options.repeat; repetition++) {
      await last.release();
      last = await measure(repetition);
    }
    cleanups.unshift(last.release);
    const { worker, taskQueue, workerIdlePeakMiB, full, limit } = last;

    const changes = changeOrganisation(emulator.data, options.changeRatio);
    say(`changed ${JSON.stringify(changes)}; incremental sync`);
    const incremental = await timedSync(client, taskQueue, false, emulator, worker, marketo);
    say(`  incremental: ${incremental.seconds.toFixed(2)} s, ${incremental.dynamicsRequests} requests`);
    if (incremental.marketo !== undefined)
      incremental.marketo.change = checkChange(incremental.marketo, changes);
    sayPush(incremental);
    await worker.stop();

    const result: BenchResult = {
      startedAt,
      machine: describeMachine(),
      options: { ...options },
      organisation,
      changes,
      workerProcess: workerProcessSettings(),
      workerIdlePeakMiB,
      full,
      incremental,
      limit,
      ...(repeats.length > 1 ? { repeats } : {}),
      ...(marketo !== undefined ? { marketo: marketo.settings } : {}),
      loadBefore,
      loadAfter: os.loadavg(),
    };
    const out =
      options.out ??
      path.join(
        'bench',
        'results',
        `${options.store}-${options.opportunities}${options.marketo ? '-marketo' : ''}-${startedAt.replace(/[:.]/g, '-')}.json`,
      );
    writeResult(out, result);
    const push = marketoTable(result.marketo, full.marketo, incremental.marketo);
    process.stdout.write(`${resultTable(result)}\n\n${push === '' ? '' : `${push}\n\n`}written to ${out}\n`);
  } finally {
    for (const cleanup of cleanups)
      await cleanup().catch((error: unknown) => say(`cleanup: ${String(error)}`));
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

main(parseBenchOptions(process.argv)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
