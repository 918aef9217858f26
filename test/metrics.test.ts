import fs from 'node:fs';
import path from 'node:path';
import { parser as promql } from '@prometheus-io/lezer-promql';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { startSync } from '../client';
import type { SyncSummary } from '../workflows';
import { freePort } from '../temporal';
import { spawnWorker, waitFor, type ChildWorker } from './support/faults';
import { Harness } from './support/harness';
import { listeningPorts, scrape, servedNames, valueOf, type Scrape } from './support/metrics';

const ROOT = path.join(__dirname, '..');
const DASHBOARD = path.join(ROOT, 'ops', 'grafana', 'oppsync-dashboard.json');
const ALERTS = path.join(ROOT, 'ops', 'prometheus', 'oppsync-alerts.yml');

/** Rows written per table as the summary counts them, and as the metric labels them. */
const ROWS: [keyof SyncSummary, { table: string; operation: string }][] = [
  ['opportunitiesUpserted', { table: 'opportunities', operation: 'upsert' }],
  ['opportunitiesDeleted', { table: 'opportunities', operation: 'delete' }],
  ['rolesUpserted', { table: 'opportunity_roles', operation: 'upsert' }],
  ['rolesDeleted', { table: 'opportunity_roles', operation: 'delete' }],
  ['leadsUpserted', { table: 'leads', operation: 'upsert' }],
  ['companiesUpserted', { table: 'companies', operation: 'upsert' }],
  ['syncErrors', { table: 'sync_errors', operation: 'upsert' }],
];

const rows = (s: Scrape, labels: { table: string; operation: string }): number =>
  valueOf(s, 'oppsync_rows_written_total', labels) ?? NaN;

/**
 * The metric names a PromQL expression selects, parsed by the Prometheus project's own PromQL grammar; a
 * syntax error fails. Grafana's variables are replaced by what Grafana would put there first.
 */
function metricNames(expr: string): string[] {
  const query = expr.replace(/\$__rate_interval|\$__range|\$__interval/g, '5m');
  const names: string[] = [];
  const errors: string[] = [];
  promql.parse(query).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(query.slice(node.from, node.to));
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error ${errors.join(', ')} in: ${expr}`);
  return names;
}

/**
 * Type-checks the dashboard JSON, as an object literal, against the `Dashboard` type of Grafana's own schema
 * package (@grafana/schema): unknown properties and values outside the schema's enums are errors.
 */
function dashboardTypeErrors(json: string): string[] {
  // Inside the repository (in the git-ignored .tmp/), so that '@grafana/schema' resolves from node_modules.
  fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'dashboard-'));
  try {
    const file = path.join(dir, 'dashboard.ts');
    fs.writeFileSync(
      file,
      [
        "import type { Dashboard } from '@grafana/schema';",
        // The schema's string enums (ThresholdsMode, …) as the strings the JSON holds.
        'type Json<T> = T extends string ? `${T}` : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;',
        `export const dashboard: Json<Dashboard> = ${json};`,
      ].join('\n'),
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      types: [],
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('worker metrics at OPPSYNC_METRICS_ADDRESS', () => {
  let h: Harness;
  let worker: ChildWorker;
  let address: string;
  /** A scrape after every run of this file (a completed, a throttled and a failed one). */
  let lastScrape: Scrape;

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 200 } }, latencyMs: 20 },
      env: { SYNC_PAGE_SIZE: '20' },
      marketo: {},
    });
    address = `127.0.0.1:${await freePort()}`;
    worker = spawnWorker(h, { OPPSYNC_METRICS_ADDRESS: address, LOG_LEVEL: 'info' });
    await waitFor('the metrics endpoint', () =>
      scrape(address).then(
        () => true,
        () => false,
      ),
    );
    await waitFor('the worker to poll', () => worker.output.join('').includes('worker started'));
  });

  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await h?.close();
  });

  it('before the first run: no open errors, and no "last success" rather than a made-up one', async () => {
    const s = await scrape(address);
    expect(valueOf(s, 'oppsync_sync_errors_open')).toBe(0);
    expect(valueOf(s, 'oppsync_sync_interval_seconds')).toBe(300);
    expect(s.types.has('oppsync_seconds_since_last_success')).toBe(false);
    expect(s.types.has('oppsync_last_success_timestamp_seconds')).toBe(false);
    for (const [, labels] of ROWS) expect(rows(s, labels)).toBe(0);
    expect(valueOf(s, 'oppsync_dynamics_requests_total')).toBe(0);
  });

  it('a scrape during a run shows it under way, and one after it matches its summary', async () => {
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    let during: Scrape | undefined;
    await waitFor('a scrape while the run writes its pages', async () => {
      const s = await scrape(address);
      if (!(rows(s, { table: 'opportunities', operation: 'upsert' }) > 0)) return false;
      // Taken during the run only if the run was still going once the scrape had been answered.
      if ((await handle.describe()).status.name !== 'RUNNING') return false;
      during = s;
      return true;
    });
    const firstRun = await handle.result();
    const after = await scrape(address);
    expect(firstRun.status).toBe('COMPLETED');
    expect(firstRun.pages).toBeGreaterThanOrEqual(10);

    // After: every table's rows as the summary counts them, and every Web API request the run sent.
    for (const [count, labels] of ROWS)
      expect([labels, rows(after, labels)]).toEqual([labels, firstRun[count]]);
    expect(valueOf(after, 'oppsync_dynamics_requests_total')).toBe(firstRun.dynamicsRequests);
    expect(valueOf(after, 'oppsync_dynamics_requests_total')).toBe(h.emulator.stats.requests);
    const store = await h.openStore();
    try {
      expect(valueOf(after, 'oppsync_sync_errors_open')).toBe(await store.openErrorCount());
    } finally {
      await store.close();
    }
    const started = Date.parse(firstRun.startedAt);
    const finished = Date.parse(firstRun.finishedAt ?? '');
    const since = valueOf(after, 'oppsync_seconds_since_last_success') ?? NaN;
    expect(since).toBeGreaterThanOrEqual(0);
    expect(since).toBeLessThan(30);
    expect((valueOf(after, 'oppsync_last_success_timestamp_seconds') ?? NaN) * 1000).toBeGreaterThanOrEqual(
      finished - 2000,
    );
    expect(valueOf(after, 'oppsync_run_duration_seconds_count', { mode: 'full' })).toBe(1);
    const duration = valueOf(after, 'oppsync_run_duration_seconds_sum', { mode: 'full' }) ?? NaN;
    expect(Math.abs(duration - (finished - started) / 1000)).toBeLessThan(2);
    expect(valueOf(after, 'oppsync_last_success_duration_seconds')).toBeCloseTo(duration, 3);
    // The push: the records Marketo took, per step, add up to the summary's; each write is a call of the quota.
    const accepted = ['companies', 'leads', 'opportunities', 'roles'].reduce(
      (sum, step) =>
        sum + (valueOf(after, 'oppsync_marketo_records_total', { step, outcome: 'accepted' }) ?? NaN),
      0,
    );
    expect(firstRun.marketo?.accepted).toBeGreaterThan(0);
    expect(accepted).toBe(firstRun.marketo?.accepted);
    expect(valueOf(after, 'oppsync_marketo_quota_used')).toBe(h.marketo!.stats.calls);
    expect(valueOf(after, 'oppsync_marketo_paused')).toBe(0);

    // During: each counter between 0 and its final value, the opportunities part of the way.
    if (during === undefined) throw new Error('no scrape during the run');
    for (const [count, labels] of ROWS) {
      expect(rows(during, labels)).toBeGreaterThanOrEqual(0);
      expect(rows(during, labels)).toBeLessThanOrEqual(firstRun[count] as number);
    }
    const partWay = rows(during, { table: 'opportunities', operation: 'upsert' });
    expect(partWay).toBeGreaterThan(0);
    expect(partWay).toBeLessThan(firstRun.opportunitiesUpserted);
    const requestsDuring = valueOf(during, 'oppsync_dynamics_requests_total') ?? NaN;
    expect(requestsDuring).toBeGreaterThan(0);
    expect(requestsDuring).toBeLessThan(firstRun.dynamicsRequests);
    expect(valueOf(during, 'oppsync_run_duration_seconds_count', { mode: 'full' })).toBe(0);

    // The Temporal SDK's own worker metrics and the process's, on the same endpoint, each family once.
    expect(after.redeclared).toEqual([]);
    const names = servedNames(after);
    expect(names).toContain('temporal_worker_task_slots_available');
    expect(names).toContain('temporal_activity_execution_latency_seconds_bucket');
    expect(names).toContain('process_resident_memory_bytes');
    // The push's own (SPEC section 7): the records Marketo took and the calls of today's quota.
    expect([...names]).toEqual(
      expect.arrayContaining(['oppsync_marketo_records_total', 'oppsync_marketo_quota_used']),
    );
    expect(names).toContain('nodejs_heap_size_used_bytes');
  });

  it('counts 429s from Dataverse, retried activities and failed runs', async () => {
    const throttledBefore = h.emulator.stats.throttled;
    h.emulator.faults.throttle({ ratio: 0.5, retryAfterSeconds: 1 });
    h.emulator.faults.failNext(1, 503);
    const throttledRun = await (
      await startSync(h.client, { taskQueue: h.config.temporal.taskQueue })
    ).result();
    h.emulator.faults.throttle(null);
    expect(throttledRun.status).toBe('COMPLETED');
    const throttled = await scrape(address);
    expect(h.emulator.stats.throttled).toBeGreaterThan(throttledBefore);
    expect(valueOf(throttled, 'oppsync_dynamics_throttled_total')).toBe(h.emulator.stats.throttled);
    expect(valueOf(throttled, 'oppsync_dynamics_requests_total')).toBe(h.emulator.stats.requests);
    expect(valueOf(throttled, 'oppsync_run_duration_seconds_count', { mode: 'incremental' })).toBe(1);
    const failedActivities = throttled.samples
      .filter((sample) => sample.name === 'temporal_activity_execution_failed_total')
      .reduce((sum, sample) => sum + sample.value, 0);
    expect(failedActivities).toBeGreaterThanOrEqual(1);

    // A run that fails for good (no read access to opportunities) is not a success: the record stays put.
    h.emulator.faults.denyRead('opportunity', true);
    const failedHandle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    await expect(failedHandle.result()).rejects.toThrow();
    h.emulator.faults.denyRead('opportunity', false);
    lastScrape = await scrape(address);
    expect(valueOf(lastScrape, 'oppsync_last_success_timestamp_seconds')).toBe(
      valueOf(throttled, 'oppsync_last_success_timestamp_seconds'),
    );
    const failedRuns = lastScrape.samples
      .filter((sample) => sample.name === 'temporal_workflow_failed_total')
      .reduce((sum, sample) => sum + sample.value, 0);
    expect(failedRuns).toBe(1);
  });

  it('the alert rules parse, and every expression names only metrics the worker serves', () => {
    const served = servedNames(lastScrape);
    const rules = parseYaml(fs.readFileSync(ALERTS, 'utf8')) as {
      groups: {
        name: string;
        rules: { alert?: string; expr: string; labels?: object; annotations?: object }[];
      }[];
    };
    // The grammar does reject broken PromQL: the check below is not vacuous.
    expect(() => metricNames('sum(rate(oppsync_dynamics_requests_total[5m])')).toThrow('syntax error');
    const all = rules.groups.flatMap((group) => group.rules);
    expect(all.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'OppsyncNoSuccessfulRun',
        'OppsyncSyncErrorsRising',
        'OppsyncDynamicsThrottled',
      ]),
    );
    for (const rule of all) {
      expect(typeof rule.alert).toBe('string');
      expect(rule.labels).toHaveProperty('severity');
      expect(rule.annotations).toHaveProperty('summary');
      const names = metricNames(rule.expr);
      expect(names.length).toBeGreaterThan(0);
      expect([rule.alert, names.filter((name) => !served.has(name))]).toEqual([rule.alert, []]);
    }
  });

  it("the dashboard type-checks against Grafana's schema, and every panel queries metrics the worker serves", () => {
    const json = fs.readFileSync(DASHBOARD, 'utf8');
    expect(dashboardTypeErrors(json)).toEqual([]);
    // A property the schema does not know is an error: the check is not vacuous.
    expect(dashboardTypeErrors(json.replace('"gridPos"', '"gridPosition"')).join('\n')).toContain(
      '\'"gridPosition"\' does not exist',
    );
    const served = servedNames(lastScrape);
    const dashboard = JSON.parse(json) as {
      panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
    };
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queried = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(queried.length).toBeGreaterThanOrEqual(10);
    for (const panel of queried) {
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const missing = metricNames(target.expr).filter((name) => !served.has(name));
        expect([panel.title, missing]).toEqual([panel.title, []]);
      }
    }
  });

  it('nothing listens when OPPSYNC_METRICS_ADDRESS is unset', async () => {
    // The worker above listens twice: its endpoint, and the SDK core's exporter on a private loopback port.
    const pid = worker.child.pid ?? NaN;
    const ports = listeningPorts(pid);
    expect(ports).toContain(Number(address.split(':')[1]));
    expect(ports).toHaveLength(2);
    const plain = spawnWorker(h, { LOG_LEVEL: 'info' });
    try {
      await waitFor('the second worker to start', () => plain.output.join('').includes('worker started'));
      expect(listeningPorts(plain.child.pid ?? NaN)).toEqual([]);
      expect(plain.output.join('')).not.toContain('serving Prometheus metrics');
    } finally {
      await plain.kill('SIGTERM');
    }
  });
});
