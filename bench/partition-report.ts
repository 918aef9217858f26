/** The result of `npm run bench -- --partitions …`: a JSON document and the Markdown table printed from it. */
import type { BaselineFigures } from './baselines';
import type { Machine } from './report';

export interface WorkerFigures {
  pid: number;
  /** Activities this worker ran (from the identities in the histories). */
  activities: number;
  /** VmHWM once ready, before the sync (start-up: workflow bundle, Temporal core). */
  idlePeakRssMiB: number;
  /** VmHWM after the sync (peak since the worker started). */
  peakRssMiB: number;
  cpuSeconds: number;
}

export interface PartitionRunFigures {
  partitions: number;
  workers: WorkerFigures[];
  /** Workflow start to result. */
  seconds: number;
  /** Upserted + deleted, as the summary reports them. */
  opportunitiesWritten: number;
  /** Rows in the store's opportunities table afterwards (the store was empty before). */
  opportunitiesInStore: number;
  /** The PostgreSQL store's database afterwards, indexes included. */
  storeMiB?: number;
  opportunitiesPerSecond: number;
  /** Opportunity pages over every partition. */
  pages: number;
  dynamicsRequests: number;
  /**
   * The requests by what they read (`requestKinds`): `GET <set>` for a read on its own (`, next` when it follows
   * a next link, `, delta` for a delta link), `$batch` for a batch, and `in $batch: <set>` for the reads a batch
   * carried (not requests of their own). Undefined in results written before it was counted.
   */
  requestsByKind?: Record<string, number>;
  tokenRequests: number;
  /** 429s the emulator answered (with --service-protection: a limit reached). */
  throttled: number;
  /** Executions counted: the parent and its children. */
  workflows: number;
  runs: number;
  /** Events over the parent and every child, all runs. */
  historyEvents: number;
  largestPayloadBytes: number;
  activitySeconds: Record<string, number>;
  /** End to end less beginSync (the baselines): the pages of every partition, and finishSync. */
  pagePhaseSeconds: number;
  /** Start to close of each child workflow (none for one partition: the plain full sync has no children). */
  partitionSeconds: number[];
  /** CPU seconds of the bench process during the run: mostly the emulator serving. */
  emulatorCpuSeconds: number;
  loadBefore: number[];
  loadAfter: number[];
  /** Cores the whole machine kept busy on average during the run (Linux; every process on it). */
  machineBusyCores?: number;
}

export interface PartitionBenchResult {
  startedAt: string;
  machine: Machine;
  options: Record<string, unknown>;
  organisation: { opportunities: number; contacts: number; accounts: number; connections: number };
  /** Undefined in results written before the baselines were measured. */
  baselines?: BaselineFigures;
  runs: PartitionRunFigures[];
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const load = (averages: number[]): string => (averages[0] ?? 0).toFixed(2);

/** The baselines apart from the runs: each table alone, the related three side by side. */
function baselineLine(baselines: BaselineFigures | undefined): string {
  if (baselines === undefined) return 'Baselines not measured.';
  const alone = Object.entries(baselines.alone)
    .map(([table, { seconds, pages }]) => `${table} ${round(seconds)} s (${pages} pages)`)
    .join(', ');
  return (
    `Baselines alone: ${alone}. The three related side by side: ${round(baselines.relatedTogether)} s ` +
    `(${round(baselines.relatedTogether / baselines.slowestRelatedAlone)}× the slowest alone).`
  );
}

/** One column per partition count. */
export function partitionTable(result: PartitionBenchResult): string {
  const { runs, machine, options } = result;
  const first = runs[0];
  const row = (name: string, cell: (run: PartitionRunFigures) => string): string =>
    `| ${name} | ${runs.map(cell).join(' | ')} |`;
  const workerCount = Math.max(...runs.map((run) => run.workers.length));
  const workerRows = Array.from({ length: workerCount }, (_, i) => [
    row(`worker ${i + 1}: activities run`, (run) => String(run.workers[i]?.activities ?? '–')),
    row(`worker ${i + 1}: peak RSS (when ready)`, (run) => {
      const worker = run.workers[i];
      return worker ? `${round(worker.peakRssMiB, 0)} MiB (${round(worker.idlePeakRssMiB, 0)} MiB)` : '–';
    }),
    row(`worker ${i + 1}: CPU seconds`, (run) => String(round(run.workers[i]?.cpuSeconds ?? 0, 1))),
  ]).flat();
  return [
    `${options.opportunities as number} opportunities, page size ${options.pageSize as number}, store ${options.store as string}, emulator latency ${options.latencyMs as number} ms, ${workerCount} worker process(es) — ${machine.cpus} CPUs (${machine.model}), ${machine.ramGiB} GiB RAM, Node ${machine.node}`,
    '',
    baselineLine(result.baselines),
    '',
    `| partitions | ${runs.map((run) => String(run.partitions)).join(' | ')} |`,
    `|---|${runs.map(() => '---:').join('|')}|`,
    row(
      'opportunities written (in the store)',
      (run) => `${run.opportunitiesWritten} (${run.opportunitiesInStore})`,
    ),
    row('PostgreSQL store size', (run) =>
      run.storeMiB === undefined ? '–' : `${round(run.storeMiB, 0)} MiB`,
    ),
    row('seconds, end to end', (run) => String(round(run.seconds))),
    row('opportunities / s', (run) => String(round(run.opportunitiesPerSecond, 0))),
    row('speed-up over the first column', (run) =>
      first === undefined ? '–' : `${round(first.seconds / run.seconds)}×`,
    ),
    row('  seconds in beginSync (before any partition starts)', (run) =>
      String(round(run.activitySeconds.beginSync ?? 0)),
    ),
    row('  page phase: seconds after beginSync', (run) => String(round(run.pagePhaseSeconds))),
    row('  page phase speed-up over the first column', (run) =>
      first === undefined ? '–' : `${round(first.pagePhaseSeconds / run.pagePhaseSeconds)}×`,
    ),
    row('  seconds per partition (child workflow)', (run) =>
      run.partitionSeconds.length === 0
        ? '–'
        : run.partitionSeconds.map((value) => round(value, 1)).join(', '),
    ),
    row('  seconds in syncOpportunityPage, summed', (run) =>
      String(round(run.activitySeconds.syncOpportunityPage ?? 0)),
    ),
    row('opportunity pages', (run) => String(run.pages)),
    row('Dynamics requests (token requests)', (run) => `${run.dynamicsRequests} (${run.tokenRequests})`),
    row('requests per 1,000 opportunities', (run) =>
      String(round((run.dynamicsRequests / run.opportunitiesWritten) * 1000)),
    ),
    row('429s (service protection reached)', (run) => String(run.throttled)),
    row('history events (workflows, runs)', (run) => `${run.historyEvents} (${run.workflows}, ${run.runs})`),
    row('largest history payload', (run) => `${round(run.largestPayloadBytes / 1024, 1)} KiB`),
    ...workerRows,
    row('bench process (emulator) CPU seconds', (run) => String(round(run.emulatorCpuSeconds, 1))),
    row(`machine CPU busy, cores of ${machine.cpus}`, (run) =>
      run.machineBusyCores === undefined ? '–' : String(round(run.machineBusyCores)),
    ),
    row('load average (1 min) before / after', (run) => `${load(run.loadBefore)} / ${load(run.loadAfter)}`),
  ].join('\n');
}
