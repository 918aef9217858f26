import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncCounts, SyncMode } from '../workflows';
import type { QuotaUsage } from '../marketo';
import type { LastSuccess, MarketoStore } from '../store';

/** What the store tells every worker alike, read at each scrape. */
export interface StoreReadings {
  openSyncErrors: number;
  /** finishSync's record of the last successful run; undefined before the first. */
  lastSuccess?: LastSuccess;
  /** The Marketo call budget all workers share (SPEC section 7), when the destination is on. */
  marketoQuota?: QuotaUsage;
}

export async function readStoreGauges(
  store: Pick<MarketoStore, 'openErrorCount' | 'state'>,
  quota?: () => Promise<QuotaUsage>,
): Promise<StoreReadings> {
  const [openSyncErrors, lastSuccess, marketoQuota] = await Promise.all([
    store.openErrorCount(),
    store.state.lastSuccess(),
    quota?.(),
  ]);
  return {
    openSyncErrors,
    ...(lastSuccess !== undefined ? { lastSuccess } : {}),
    ...(marketoQuota !== undefined ? { marketoQuota } : {}),
  };
}

/** Which counts of an activity's result are rows written to which store table, by which operation. */
const ROWS_WRITTEN: readonly { count: keyof SyncCounts; table: string; operation: 'upsert' | 'delete' }[] = [
  { count: 'opportunitiesUpserted', table: 'opportunities', operation: 'upsert' },
  { count: 'opportunitiesDeleted', table: 'opportunities', operation: 'delete' },
  { count: 'rolesUpserted', table: 'opportunity_roles', operation: 'upsert' },
  { count: 'rolesDeleted', table: 'opportunity_roles', operation: 'delete' },
  { count: 'leadsUpserted', table: 'leads', operation: 'upsert' },
  { count: 'companiesUpserted', table: 'companies', operation: 'upsert' },
  { count: 'syncErrors', table: 'sync_errors', operation: 'upsert' },
];

interface StoreGauge {
  name: string;
  gauge: Gauge;
}

function storeGauge(name: string, help: string): StoreGauge {
  return { name, gauge: new Gauge({ name, help, registers: [] }) };
}

const MODES: readonly SyncMode[] = ['full', 'incremental'];

/** Up to six hours: a first full sync of a large organisation is the long tail. */
const RUN_DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600];

/**
 * oppsync's own metrics on a registry of their own (one per worker, so several workers in one process never
 * clash), with the Node process metrics. Counters move once per activity from the counts it returns, never per
 * row; the gauges that every worker should agree on are read from the store at scrape time.
 */
export class OppsyncMetrics {
  readonly registry = new Registry();
  private readonly rowsWritten = new Counter({
    name: 'oppsync_rows_written_total',
    help: 'Rows the sync wrote to the store, by table and operation (from each page, batch and finish)',
    labelNames: ['table', 'operation'] as const,
    registers: [this.registry],
  });
  private readonly runDuration = new Histogram({
    name: 'oppsync_run_duration_seconds',
    help: 'Duration of completed sync runs, from the workflow start to finishSync, on the worker that finished it',
    labelNames: ['mode'] as const,
    buckets: RUN_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly dynamicsRequests = new Counter({
    name: 'oppsync_dynamics_requests_total',
    help: 'Dataverse Web API requests sent (each $batch is one request; a repeat after a 429 is another)',
    registers: [this.registry],
  });
  private readonly dynamicsThrottled = new Counter({
    name: 'oppsync_dynamics_throttled_total',
    help: 'HTTP 429 answers from Dataverse (a whole request or one $batch part)',
    registers: [this.registry],
  });
  private readonly marketoRecords = new Counter({
    name: 'oppsync_marketo_records_total',
    help: 'Records the push sent to Marketo, by step and by what Marketo did (accepted or skipped)',
    labelNames: ['step', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly marketoCalls = new Counter({
    name: 'oppsync_marketo_calls_total',
    help: 'Marketo REST write calls the push made (describes and throttled repeats aside), by step',
    labelNames: ['step'] as const,
    registers: [this.registry],
  });
  // Registered only while they have a value: see setStoreReadings.
  private readonly marketoQuotaUsed = storeGauge(
    'oppsync_marketo_quota_used',
    "Marketo calls oppsync made today (Marketo's day, from 12:00 AM CST), read from the store",
  );
  private readonly marketoQuotaLimit = storeGauge(
    'oppsync_marketo_daily_quota',
    'MARKETO_DAILY_QUOTA: the calls a day oppsync may make',
  );
  private readonly marketoPaused = storeGauge(
    'oppsync_marketo_paused',
    "1 while the push is paused by Marketo's daily quota (607, or MARKETO_DAILY_QUOTA used), else 0",
  );
  private readonly openSyncErrors = storeGauge(
    'oppsync_sync_errors_open',
    'Open rows in sync_errors (records that could not be synced), read from the store',
  );
  private readonly lastSuccess = storeGauge(
    'oppsync_last_success_timestamp_seconds',
    'Unix time at which the last successful run finished, read from the store',
  );
  private readonly sinceLastSuccess = storeGauge(
    'oppsync_seconds_since_last_success',
    'Seconds since the last successful run finished, read from the store',
  );
  private readonly lastSuccessDuration = storeGauge(
    'oppsync_last_success_duration_seconds',
    'Duration of the last successful run, read from the store',
  );

  constructor(options: { syncIntervalMs: number }) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'oppsync_sync_interval_seconds',
      help: "The worker's SYNC_INTERVAL, for alerts that count missed intervals",
      registers: [this.registry],
    }).set(options.syncIntervalMs / 1000);
    // Every series exists from the start at 0, so rate() and increase() see the first run's rows.
    for (const { table, operation } of ROWS_WRITTEN) this.rowsWritten.inc({ table, operation }, 0);
    for (const mode of MODES) this.runDuration.zero({ mode });
  }

  /** The counts one activity returned (a page, a pending batch, a finish). */
  recordCounts(counts: Partial<SyncCounts>): void {
    for (const { count, table, operation } of ROWS_WRITTEN) {
      const value = counts[count] ?? 0;
      if (value > 0) this.rowsWritten.inc({ table, operation }, value);
    }
  }

  recordRun(mode: SyncMode, durationSeconds: number): void {
    this.runDuration.observe({ mode }, durationSeconds);
  }

  /** What one push step did. */
  recordPush(result: { step: string; accepted: number; skipped: number; calls: number }): void {
    this.marketoRecords.inc({ step: result.step, outcome: 'accepted' }, result.accepted);
    this.marketoRecords.inc({ step: result.step, outcome: 'skipped' }, result.skipped);
    this.marketoCalls.inc({ step: result.step }, result.calls);
  }

  dynamicsRequest(): void {
    this.dynamicsRequests.inc();
  }

  dynamicsThrottle(): void {
    this.dynamicsThrottled.inc();
  }

  /**
   * Sets the store gauges from a fresh reading. A gauge without a value is left out of the exposition rather
   * than shown as 0 (prom-client's default): before the first successful run, or when the store could not be
   * read, "0 seconds since the last success" would be a lie that silences the alert.
   */
  setStoreReadings(readings: StoreReadings | undefined, now = new Date()): void {
    const last = readings?.lastSuccess;
    const quota = readings?.marketoQuota;
    this.show(this.openSyncErrors, readings?.openSyncErrors);
    this.show(this.marketoQuotaUsed, quota?.used);
    this.show(this.marketoQuotaLimit, quota?.limit);
    this.show(this.marketoPaused, quota && (quota.exhausted ? 1 : 0));
    this.show(this.lastSuccess, last && last.finishedAt.getTime() / 1000);
    this.show(this.sinceLastSuccess, last && Math.max(0, (now.getTime() - last.finishedAt.getTime()) / 1000));
    this.show(
      this.lastSuccessDuration,
      last?.startedAt && (last.finishedAt.getTime() - last.startedAt.getTime()) / 1000,
    );
  }

  private show({ name, gauge }: StoreGauge, value: number | undefined): void {
    const shown = this.registry.getSingleMetric(name) !== undefined;
    if (value === undefined) {
      if (shown) this.registry.removeSingleMetric(name);
      return;
    }
    gauge.set(value);
    if (!shown) this.registry.registerMetric(gauge);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
