import { OppsyncMetrics } from '../metrics';
import { parseExposition, valueOf } from './support/metrics';

async function scrapeOf(metrics: OppsyncMetrics) {
  return parseExposition(await metrics.metrics());
}

describe("oppsync's own metrics", () => {
  it("count each activity's rows by table and operation, from the counts it returns", async () => {
    const metrics = new OppsyncMetrics({ syncIntervalMs: 300_000 });
    const page = {
      pages: 1,
      dynamicsRequests: 3,
      opportunitiesUpserted: 20,
      rolesUpserted: 5,
      syncErrors: 1,
    };
    metrics.recordCounts(page);
    metrics.recordCounts(page);
    metrics.recordCounts({ opportunitiesDeleted: 2, rolesDeleted: 4 });
    const s = await scrapeOf(metrics);
    const rows = (table: string, operation: string) =>
      valueOf(s, 'oppsync_rows_written_total', { table, operation });
    expect(rows('opportunities', 'upsert')).toBe(40);
    expect(rows('opportunity_roles', 'upsert')).toBe(10);
    expect(rows('sync_errors', 'upsert')).toBe(2);
    expect(rows('opportunities', 'delete')).toBe(2);
    expect(rows('opportunity_roles', 'delete')).toBe(4);
    expect(rows('leads', 'upsert')).toBe(0);
    expect(rows('companies', 'upsert')).toBe(0);
    expect(valueOf(s, 'oppsync_sync_interval_seconds')).toBe(300);
    expect(valueOf(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('leave the store gauges out, not at 0, before the first success and while the store cannot be read', async () => {
    const metrics = new OppsyncMetrics({ syncIntervalMs: 300_000 });
    const finishedAt = new Date('2026-12-01T10:00:00Z');
    const startedAt = new Date('2026-12-01T09:58:30Z');
    metrics.setStoreReadings({ openSyncErrors: 3 }, new Date('2026-12-01T10:05:00Z'));
    let s = await scrapeOf(metrics);
    expect(valueOf(s, 'oppsync_sync_errors_open')).toBe(3);
    expect(valueOf(s, 'oppsync_seconds_since_last_success')).toBeUndefined();

    metrics.setStoreReadings(
      { openSyncErrors: 3, lastSuccess: { finishedAt, startedAt, mode: 'full' } },
      new Date('2026-12-01T10:05:00Z'),
    );
    s = await scrapeOf(metrics);
    expect(valueOf(s, 'oppsync_seconds_since_last_success')).toBe(300);
    expect(valueOf(s, 'oppsync_last_success_timestamp_seconds')).toBe(finishedAt.getTime() / 1000);
    expect(valueOf(s, 'oppsync_last_success_duration_seconds')).toBe(90);

    metrics.setStoreReadings(undefined);
    s = await scrapeOf(metrics);
    expect(s.types.has('oppsync_sync_errors_open')).toBe(false);
    expect(s.types.has('oppsync_seconds_since_last_success')).toBe(false);
    expect(s.types.has('oppsync_last_success_timestamp_seconds')).toBe(false);
  });
});
