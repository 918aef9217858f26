/** The benchmark's result: a JSON document and the Markdown table printed from it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MarketoBenchSettings, MarketoRunFigures } from './marketo';
import { describeWorkerProcessSettings, type WorkerProcessSettings } from './worker-process';

export interface Machine {
  cpus: number;
  model: string;
  ramGiB: number;
  node: string;
  platform: string;
}

export interface RunFigures {
  seconds: number;
  /** Opportunities the run wrote (upserted + deleted) per second, workflow start to result. */
  opportunitiesPerSecond: number;
  opportunitiesWritten: number;
  pages: number;
  dynamicsRequests: number;
  tokenRequests: number;
  requestsPer1000: number;
  runs: number;
  historyEvents: number;
  eventsPer1000: number;
  eventsPerPage: number;
  largestPayloadBytes: number;
  /** Seconds inside each activity type (from the history's started/completed times). */
  activitySeconds: Record<string, number>;
  /** Workflow start to the first opportunity page written, and the median gap between later pages. */
  firstPageSeconds: number;
  laterPageSeconds: number;
  /** Worker VmHWM after this run (peak since the worker started). */
  workerPeakRssMiB: number;
  /** CPU seconds during the run: the worker process, and the bench process (mostly the emulator serving). */
  workerCpuSeconds: number;
  emulatorCpuSeconds: number;
  /** 1-minute load average when the run ended. */
  load: number;
  /** With `--marketo`: the push into the Marketo emulator after the run (its seconds are in `seconds`). */
  marketo?: MarketoRunFigures;
}

export interface LimitFigures {
  readSeconds: number;
  readPages: number;
  insertSeconds: number;
  insertRows: number;
  /** Full sync seconds / (readSeconds + insertSeconds). */
  ratio: number;
}

/** One repetition of the full sync against its limit (`--repeat`); the result's other figures are the last's. */
export interface RepeatFigures {
  fullSeconds: number;
  readSeconds: number;
  insertSeconds: number;
  ratio: number;
  workerPeakRssMiB: number;
  workerCpuSeconds: number;
  emulatorCpuSeconds: number;
}

export interface BenchResult {
  startedAt: string;
  machine: Machine;
  options: Record<string, unknown>;
  organisation: { opportunities: number; contacts: number; accounts: number; connections: number };
  changes: { opportunities: number; contacts: number; connections: number };
  /** Node flags and environment the worker process ran with beyond the defaults. */
  workerProcess: WorkerProcessSettings;
  /** Worker VmHWM once it is ready (start-up: workflow bundle, Temporal core), before any sync. */
  workerIdlePeakMiB: number;
  full: RunFigures;
  incremental: RunFigures;
  limit: LimitFigures;
  /** With `--repeat n` (n > 1): every repetition, in order; the last is the one `full` and `limit` describe. */
  repeats?: RepeatFigures[];
  /** With `--marketo`: the emulator's latency and the worker's Marketo settings. */
  marketo?: MarketoBenchSettings;
  loadBefore: number[];
  loadAfter: number[];
}

export function describeMachine(): Machine {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpus: os.availableParallelism(),
    model,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The Markdown table the README shows. */
export function resultTable(result: BenchResult): string {
  const { full, incremental, limit, machine } = result;
  const kib = (bytes: number): string => `${round(bytes / 1024, 1)} KiB`;
  const rows: [string, string, string][] = [
    ['opportunities written', String(full.opportunitiesWritten), String(incremental.opportunitiesWritten)],
    ['seconds, end to end', String(round(full.seconds)), String(round(incremental.seconds))],
    [
      'opportunities / s',
      String(round(full.opportunitiesPerSecond, 0)),
      String(round(incremental.opportunitiesPerSecond, 0)),
    ],
    ['pages', String(full.pages), String(incremental.pages)],
    [
      'Dynamics requests (per 1,000 opp.)',
      `${full.dynamicsRequests} (${round(full.requestsPer1000)})`,
      `${incremental.dynamicsRequests} (${round(incremental.requestsPer1000)})`,
    ],
    [
      'history events (per page)',
      `${full.historyEvents} (${round(full.eventsPerPage, 1)})`,
      `${incremental.historyEvents} (${round(incremental.eventsPerPage, 1)})`,
    ],
    [
      'history events per 1,000 opp.',
      String(round(full.eventsPer1000, 1)),
      String(round(incremental.eventsPer1000, 1)),
    ],
    [
      'seconds to the first page written (later pages, median)',
      `${round(full.firstPageSeconds)} (${round(full.laterPageSeconds)})`,
      `${round(incremental.firstPageSeconds)} (${round(incremental.laterPageSeconds)})`,
    ],
    ...activityRows(full.activitySeconds, incremental.activitySeconds),
    ['workflow runs (continue-as-new)', String(full.runs), String(incremental.runs)],
    ['largest history payload', kib(full.largestPayloadBytes), kib(incremental.largestPayloadBytes)],
    ['worker CPU seconds', String(round(full.workerCpuSeconds)), String(round(incremental.workerCpuSeconds))],
    [
      'bench process (emulator) CPU seconds',
      String(round(full.emulatorCpuSeconds)),
      String(round(incremental.emulatorCpuSeconds)),
    ],
    [
      'worker peak RSS (VmHWM)',
      `${round(full.workerPeakRssMiB, 0)} MiB`,
      `${round(incremental.workerPeakRssMiB, 0)} MiB`,
    ],
    ['worker peak RSS when ready, before syncing', `${round(result.workerIdlePeakMiB, 0)} MiB`, ''],
    ['load average (1 min) at end', String(round(full.load)), String(round(incremental.load))],
  ];
  const workerSettings = describeWorkerProcessSettings(result.workerProcess);
  const lines = [
    `${result.options.opportunities as number} opportunities, page size ${result.options.pageSize as number}, store ${result.options.store as string}, emulator latency ${result.options.latencyMs as number} ms${result.options.readAhead === false ? ', read-ahead off' : ''}${workerSettings ? `, worker ${workerSettings}` : ''} — ${machine.cpus} CPUs (${machine.model}), ${machine.ramGiB} GiB RAM, Node ${machine.node}`,
    '',
    '| | full sync | incremental sync |',
    '|---|---:|---:|',
    ...rows.map(([name, a, b]) => `| ${name} | ${a} | ${b} |`),
    '',
    '| limit (same run) | seconds |',
    '|---|---:|',
    `| bare client GETs every opportunity page (${limit.readPages} pages) | ${round(limit.readSeconds)} |`,
    `| bulk insert of the same ${limit.insertRows} rows, no Temporal | ${round(limit.insertSeconds)} |`,
    `| sum | ${round(limit.readSeconds + limit.insertSeconds)} |`,
    `| **full sync / limit** | **${round(limit.ratio)}×** |`,
    ...repeatLines(result.repeats),
  ];
  return lines.join('\n');
}

/** Upper median: of an even count, the larger middle value (for ratios, the less flattering one). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Every repetition's full sync and ratio, in order, and the median ratio (`--repeat`). */
function repeatLines(repeats: readonly RepeatFigures[] | undefined): string[] {
  if (repeats === undefined || repeats.length < 2) return [];
  const list = (values: number[], unit: string, digits = 2): string =>
    values.map((v) => `${round(v, digits)}${unit}`).join(', ');
  return [
    '',
    `| ${repeats.length} repetitions (fresh store and worker each; the tables above are the last) | |`,
    '|---|---:|',
    `| full sync, seconds | ${list(
      repeats.map((r) => r.fullSeconds),
      '',
    )} |`,
    `| limit (GET + insert), seconds | ${list(
      repeats.map((r) => r.readSeconds + r.insertSeconds),
      '',
    )} |`,
    `| worker peak RSS, MiB | ${list(
      repeats.map((r) => r.workerPeakRssMiB),
      '',
      0,
    )} |`,
    `| full sync / limit | ${list(
      repeats.map((r) => r.ratio),
      '×',
    )} |`,
    `| **median full sync / limit** | **${round(median(repeats.map((r) => r.ratio)))}×** |`,
  ];
}

export function writeResult(file: string, result: object): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

function activityRows(
  full: Record<string, number>,
  incremental: Record<string, number>,
): [string, string, string][] {
  const names = [...new Set([...Object.keys(full), ...Object.keys(incremental)])];
  const cell = (value: number | undefined): string => (value === undefined ? '–' : String(round(value)));
  return names.map((name) => [`  seconds in ${name}`, cell(full[name]), cell(incremental[name])]);
}
