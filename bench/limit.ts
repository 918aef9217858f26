/** The limit a sync is measured against: reading the pages alone, and writing the rows alone. */
import { performance } from 'node:perf_hooks';
import { DynamicsClient, type DynamicsAuthConfig } from '../dynamics';
import { MarketoStore } from '../store';
import { insertRows } from '../store/sql';

/** Seconds a bare client takes to GET every opportunity page (same $select and page size as the sync). */
export async function bareReadSeconds(
  auth: DynamicsAuthConfig,
  pageSize: number,
  select: readonly string[],
): Promise<{ seconds: number; pages: number; records: number }> {
  const dynamics = new DynamicsClient({ ...auth, pageSize });
  // Token acquisition happens once per worker too; it is not part of reading the pages.
  await dynamics.isChangeTrackingEnabled('opportunity');
  const started = performance.now();
  let pages = 0;
  let records = 0;
  for (
    let next: string | undefined = dynamics.firstPageUrl('opportunities', { select: [...select] });
    next !== undefined;
  ) {
    const page = await dynamics.getPage(next);
    pages++;
    records += page.records.length;
    next = page.nextLink;
  }
  return { seconds: (performance.now() - started) / 1000, pages, records };
}

/** Tables the sync fills, parents first, with the columns that order a stable read. */
const TABLES: { name: string; order: string[] }[] = [
  { name: 'companies', order: ['external_company_id'] },
  { name: 'leads', order: ['id'] },
  { name: 'opportunities', order: ['external_opportunity_id'] },
  { name: 'opportunity_roles', order: ['external_opportunity_id', 'lead_id', 'role'] },
  { name: 'stakeholder_connections', order: ['connection_id'] },
  { name: 'sync_errors', order: ['entity', 'record_id'] },
];

/**
 * Seconds to bulk-insert the rows the sync wrote into a fresh store of the same kind, one transaction per
 * `pageSize` rows as the sync does, without Temporal or Dynamics. Only the inserts are timed. The statements
 * are plain multi-row inserts run the way the sync runs its upserts (straight on the SQLite driver, through
 * knex on PostgreSQL), so the limit is as fast as this store takes rows.
 */
export async function bulkInsertSeconds(
  sourceUrl: string,
  targetUrl: string,
  pageSize: number,
): Promise<{ seconds: number; rows: number }> {
  const source = await MarketoStore.open(sourceUrl);
  const target = await MarketoStore.open(targetUrl);
  try {
    await target.migrate();
    let seconds = 0;
    let rows = 0;
    for (const table of TABLES) {
      for (let offset = 0; ; offset += pageSize) {
        const chunk = (await source
          .knex(table.name)
          .select('*')
          .orderBy(table.order)
          .limit(pageSize)
          .offset(offset)) as Record<string, unknown>[];
        if (chunk.length === 0) break;
        const started = performance.now();
        await target.knex.transaction((trx) => insertRows(trx, table.name, chunk));
        seconds += (performance.now() - started) / 1000;
        rows += chunk.length;
        if (chunk.length < pageSize) break;
      }
    }
    return { seconds, rows };
  } finally {
    await source.close();
    await target.close();
  }
}
