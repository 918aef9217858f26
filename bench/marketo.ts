/**
 * `--marketo`: the push into the bundled Marketo emulator after each run, measured from the emulator's call log
 * against two floors: the fewest calls (300 records a call) and the least time Marketo's rate limit allows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startMarketoEmulator, type MarketoEmulator, type MarketoLogEntry } from '@oppsync/marketo-emulator';
import { PUSH_STEPS, type MarketoPushSummary, type PushStep } from '../workflows';
import type { ChangeCounts } from './organisation';

/** Records one REST call carries at most. */
const RECORDS_PER_CALL = 300;
const RATE_WINDOW_MS = 20_000;

/** What the worker is told (its defaults, written out so the result records them). */
const WORKER_LIMITS = { maxCallsPer20s: 50, maxConcurrent: 5 } as const;
/** Every generated contact has an id; not all have an email. */
const LEAD_LOOKUP_FIELD = 'dynamicsContactId';

const STEP_PATHS: Record<string, PushStep> = {
  '/rest/v1/companies.json': 'companies',
  '/rest/v1/leads.json': 'leads',
  '/rest/v1/opportunities.json': 'opportunities',
  '/rest/v1/opportunities/roles.json': 'roles',
  '/rest/v1/opportunities/roles/delete.json': 'roleDeletes',
  '/rest/v1/opportunities/delete.json': 'opportunityDeletes',
};

export interface MarketoBenchSettings {
  latencyMs: number;
  maxCallsPer20s: number;
  maxConcurrent: number;
  leadLookupField: string;
}

export interface MarketoBench {
  emulator: MarketoEmulator;
  settings: MarketoBenchSettings;
  /** The worker's Marketo settings, and NODE_EXTRA_CA_CERTS naming a file that trusts both emulators. */
  workerEnv: Record<string, string>;
}

export async function startMarketoBench(
  latencyMs: number,
  dataverseCaPem: string,
  tempDir: string,
): Promise<MarketoBench> {
  const emulator = await startMarketoEmulator({ latencyMs });
  const caFile = path.join(tempDir, 'emulators-ca.pem');
  fs.writeFileSync(caFile, `${dataverseCaPem.trim()}\n${emulator.caPem.trim()}\n`);
  const settings = { latencyMs, ...WORKER_LIMITS, leadLookupField: LEAD_LOOKUP_FIELD };
  return {
    emulator,
    settings,
    workerEnv: {
      NODE_EXTRA_CA_CERTS: caFile,
      MARKETO_REST_URL: emulator.url,
      MARKETO_CLIENT_ID: emulator.clientId,
      MARKETO_CLIENT_SECRET: emulator.clientSecret,
      MARKETO_MAX_CALLS_PER_20S: String(settings.maxCallsPer20s),
      MARKETO_MAX_CONCURRENT: String(settings.maxConcurrent),
      MARKETO_LEAD_LOOKUP_FIELD: settings.leadLookupField,
    },
  };
}

/** Whether the incremental push sent only what the change touched. */
export interface MarketoChangeCheck {
  opportunitiesChanged: number;
  opportunitiesPushed: number;
  contactsChanged: number;
  leadsPushed: number;
  connectionsChanged: number;
  /** Role upserts and role deletes. */
  roleWritesPushed: number;
  /** Companies and opportunity deletes: the change touches neither. */
  otherPushed: number;
  /** Opportunities pushed = changed, leads ≤ contacts changed, role writes ≤ connections changed, no others. */
  onlyChanged: boolean;
}

export interface MarketoRunFigures {
  /** Records in each push step's answered write calls (from the emulator's log). */
  records: Record<PushStep, number>;
  recordsTotal: number;
  /**
   * The run's own count (summary.marketo), null when the summary has none. A step's activity retried after an
   * error reports its last attempt only, so this can be less than `recordsTotal`.
   */
  summary: MarketoPushSummary | null;
  /** What the emulator holds after the run. */
  held: { companies: number; leads: number; opportunities: number; roles: number };
  calls: number;
  posts: number;
  gets: number;
  callsPer1000Records: number;
  /** Σ over write paths of ceil(records on the path / 300). */
  floorCalls: number;
  /** ceil(all records / 300). */
  plainFloorCalls: number;
  /** calls (describes included) / floorCalls. */
  callsPerFloor: number;
  postsPerFloor: number;
  /** From the first call's arrival to the last call's answer. */
  pushSeconds: number;
  /**
   * floor((calls − 1) / maxCallsPer20s) × 20 s + one call's latency (the rate limit), or ceil(calls /
   * maxConcurrent) × latency if that is longer (the concurrency limit).
   */
  floorSeconds: number;
  pushPerFloor: number;
  maxCallsInAnyWindow: number;
  maxConcurrentSeen: number;
  earlyCalls: number;
  /** Response-level error codes (606, 615, 607, …) by count. */
  codes: Record<string, number>;
  /** Incremental run only. */
  change?: MarketoChangeCheck;
}

const ratio = (value: number, floor: number): number => (floor === 0 ? 0 : value / floor);

function pushSpan(log: readonly MarketoLogEntry[]): number {
  if (log.length === 0) return 0;
  const first = Math.min(...log.map((entry) => entry.at));
  const last = Math.max(...log.map((entry) => entry.answeredAt));
  return (last - first) / 1000;
}

export function floorSeconds(calls: number, settings: MarketoBenchSettings): number {
  if (calls === 0) return 0;
  const latency = settings.latencyMs / 1000;
  const rate = Math.floor((calls - 1) / settings.maxCallsPer20s) * (RATE_WINDOW_MS / 1000) + latency;
  const concurrency = Math.ceil(calls / settings.maxConcurrent) * latency;
  return Math.max(rate, concurrency);
}

/** The figures of the push the emulator logged since its stats were last reset. */
export function marketoRunFigures(
  bench: MarketoBench,
  summary: MarketoPushSummary | undefined,
): MarketoRunFigures {
  const { emulator, settings } = bench;
  const log = emulator.stats.log;
  const records = Object.fromEntries(PUSH_STEPS.map((step) => [step, 0])) as Record<PushStep, number>;
  const codes: Record<string, number> = {};
  for (const entry of log) {
    if (entry.code !== undefined) codes[entry.code] = (codes[entry.code] ?? 0) + 1;
    const step = STEP_PATHS[entry.path];
    if (entry.method === 'POST' && step !== undefined && entry.httpStatus === 200 && entry.code === undefined)
      records[step] += entry.records;
  }
  const recordsTotal = PUSH_STEPS.reduce((sum, step) => sum + records[step], 0);
  const floorCalls = PUSH_STEPS.reduce((sum, step) => sum + Math.ceil(records[step] / RECORDS_PER_CALL), 0);
  const posts = log.filter((entry) => entry.method === 'POST').length;
  const calls = log.length;
  const pushSeconds = pushSpan(log);
  const floor = floorSeconds(calls, settings);
  const { data } = emulator;
  return {
    records,
    recordsTotal,
    summary: summary ?? null,
    held: {
      companies: data.companies().length,
      leads: data.leads().length,
      opportunities: data.opportunities().length,
      roles: data.roles().length,
    },
    calls,
    posts,
    gets: log.filter((entry) => entry.method === 'GET').length,
    callsPer1000Records: recordsTotal === 0 ? 0 : (calls * 1000) / recordsTotal,
    floorCalls,
    plainFloorCalls: Math.ceil(recordsTotal / RECORDS_PER_CALL),
    callsPerFloor: ratio(calls, floorCalls),
    postsPerFloor: ratio(posts, floorCalls),
    pushSeconds,
    floorSeconds: floor,
    pushPerFloor: ratio(pushSeconds, floor),
    maxCallsInAnyWindow: emulator.stats.maxCallsInAnyWindow(RATE_WINDOW_MS),
    maxConcurrentSeen: emulator.stats.maxConcurrentSeen(),
    earlyCalls: emulator.stats.earlyCalls(1000),
    codes,
  };
}

export function checkChange(figures: MarketoRunFigures, changes: ChangeCounts): MarketoChangeCheck {
  const { records } = figures;
  const check = {
    opportunitiesChanged: changes.opportunities,
    opportunitiesPushed: records.opportunities,
    contactsChanged: changes.contacts,
    leadsPushed: records.leads,
    connectionsChanged: changes.connections,
    roleWritesPushed: records.roles + records.roleDeletes,
    otherPushed: records.companies + records.opportunityDeletes,
  };
  return {
    ...check,
    onlyChanged:
      check.opportunitiesPushed === check.opportunitiesChanged &&
      check.leadsPushed <= check.contactsChanged &&
      check.roleWritesPushed <= check.connectionsChanged &&
      check.otherPushed === 0,
  };
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The push's Markdown table, printed after the run's; '' when the runs did not push. */
export function marketoTable(
  settings: MarketoBenchSettings | undefined,
  full: MarketoRunFigures | undefined,
  incremental: MarketoRunFigures | undefined,
): string {
  if (settings === undefined || full === undefined || incremental === undefined) return '';
  const both = (cell: (figures: MarketoRunFigures) => string): string =>
    `${cell(full)} | ${cell(incremental)}`;
  const summary = (f: MarketoRunFigures): string =>
    f.summary === null
      ? '–'
      : `${f.summary.sent} / ${f.summary.accepted} / ${f.summary.skipped}${f.summary.paused ? ' (paused)' : ''}`;
  const codes = (f: MarketoRunFigures): string =>
    Object.entries(f.codes)
      .map(([code, count]) => `${code}×${count}`)
      .join(', ') || 'none';
  const rows: [string, string][] = [
    ...PUSH_STEPS.map((step): [string, string] => [
      `  records pushed: ${step}`,
      both((f) => String(f.records[step])),
    ]),
    ['records pushed, all steps', both((f) => String(f.recordsTotal))],
    ['summary: sent / accepted / skipped (last attempt of each step)', both(summary)],
    ['calls: POST + GET', both((f) => `${f.posts} + ${f.gets}`)],
    ['calls per 1,000 records', both((f) => String(round(f.callsPer1000Records)))],
    [
      'floor: Σ ceil(path records / 300) (plain ceil(all / 300))',
      both((f) => `${f.floorCalls} (${f.plainFloorCalls})`),
    ],
    [
      '**calls / floor** (POSTs / floor)',
      both((f) => `**${round(f.callsPerFloor, 3)}** (${round(f.postsPerFloor, 3)})`),
    ],
    ['push seconds, first arrival to last answer', both((f) => String(round(f.pushSeconds)))],
    ['rate-limit floor, seconds', both((f) => String(round(f.floorSeconds)))],
    ['**push / floor**', both((f) => `**${round(f.pushPerFloor, 3)}**`)],
    [`most calls in any 20 s (limit ${settings.maxCallsPer20s})`, both((f) => String(f.maxCallsInAnyWindow))],
    [`most calls at once (limit ${settings.maxConcurrent})`, both((f) => String(f.maxConcurrentSeen))],
    ['calls < 1 s after a 606/615', both((f) => String(f.earlyCalls))],
    ['error codes', both(codes)],
  ];
  const change = incremental.change;
  const lines = [
    `Marketo push (emulator latency ${settings.latencyMs} ms, worker ${settings.maxCallsPer20s} calls / 20 s, ${settings.maxConcurrent} at once, leads by ${settings.leadLookupField}; the end-to-end seconds above include it)`,
    '',
    '| Marketo | full sync | incremental sync |',
    '|---|---:|---:|',
    ...rows.map(([name, cells]) => `| ${name} | ${cells} |`),
  ];
  if (change !== undefined)
    lines.push(
      '',
      `incremental push: ${change.opportunitiesPushed} opportunities for ${change.opportunitiesChanged} changed, ${change.leadsPushed} leads for ${change.contactsChanged} renamed contacts, ${change.roleWritesPushed} role writes for ${change.connectionsChanged} deactivated connections, ${change.otherPushed} other records: ${change.onlyChanged ? 'only the changed rows were pushed' : '**more than the changed rows was pushed**'}`,
    );
  return lines.join('\n');
}
