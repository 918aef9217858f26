/** Bulk statements shared by the writer and the store, all chunked to respect parameter limits. */
import type { Knex } from 'knex';
import { idChunks, rowChunks } from './chunks';

export async function upsertRows(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
  merge?: string[],
): Promise<void> {
  for (const rows_ of rowChunks(rows)) {
    const insert = db(table).insert(rows_).onConflict(conflict);
    await (merge ? insert.merge(merge) : insert.merge());
  }
}

export async function insertIgnoring(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
): Promise<void> {
  for (const rows_ of rowChunks(rows)) await db(table).insert(rows_).onConflict(conflict).ignore();
}

/** `select <columns> from table where column in (ids)`, over as many statements as needed. */
export async function selectIn<Row>(
  db: Knex | Knex.Transaction,
  table: string,
  column: string,
  ids: readonly string[],
  columns: string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const part of idChunks([...new Set(ids)])) {
    rows.push(...((await db(table).select(columns).whereIn(column, part)) as Row[]));
  }
  return rows;
}

/** `delete from table where column in (ids) [and extra]`; returns the number of rows deleted. */
export async function deleteIn(
  db: Knex | Knex.Transaction,
  table: string,
  column: string,
  ids: readonly string[],
  extra: Record<string, string> = {},
): Promise<number> {
  let deleted = 0;
  for (const part of idChunks([...new Set(ids)])) {
    deleted += await db(table).where(extra).whereIn(column, part).delete();
  }
  return deleted;
}

export async function updateIn(
  db: Knex | Knex.Transaction,
  table: string,
  column: string,
  ids: readonly string[],
  values: Record<string, unknown>,
  where: Record<string, unknown> = {},
): Promise<number> {
  let updated = 0;
  for (const part of idChunks([...new Set(ids)])) {
    updated += await db(table).where(where).whereIn(column, part).update(values);
  }
  return updated;
}
