import type { Knex } from 'knex';
import { MarketoStore } from '../store';

/** Every table a run reads or writes, parents before children (leads before the roles that point to them). */
const TABLES = [
  'companies',
  'leads',
  'opportunities',
  'opportunity_roles',
  'stakeholder_connections',
  'sync_errors',
  'sync_state',
  'sync_pending',
  // What Marketo holds (SPEC section 7): the dry run's push compares the copy with it.
  'marketo_companies',
  'marketo_leads',
  'marketo_opportunities',
  'marketo_roles',
] as const;

/** SQLite takes no booleans or objects as values; PostgreSQL gives both. */
function sqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

async function copyTable(from: Knex, to: Knex, table: string): Promise<void> {
  const rows = (await from(table).select()) as Record<string, unknown>[];
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] ?? {}).length;
  const converted = rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([name, value]) => [name, sqliteValue(value)])),
  );
  // Well under SQLite's 32,766 bound variables a statement.
  await to.batchInsert(table, converted, Math.max(1, Math.floor(30_000 / columns)));
}

/**
 * An in-memory copy of the store (any backend) for a dry run: the run writes there as it would write the store,
 * and the store itself, its change state and its queue are never touched.
 */
export async function scratchCopy(store: MarketoStore): Promise<MarketoStore> {
  const scratch = await MarketoStore.open('sqlite::memory:');
  try {
    await scratch.migrate();
    for (const table of TABLES) await copyTable(store.knex, scratch.knex, table);
    return scratch;
  } catch (error) {
    await scratch.close();
    throw error;
  }
}
