/** Bulk statements shared by the writer and the store, all chunked to respect parameter limits. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Knex } from 'knex';
import { idChunks, rowChunks } from './chunks';

/**
 * better-sqlite3 runs each statement synchronously, so writes on the caller's thread (an in-memory store, the
 * store's other writes; file stores write pages on their own thread) would hold the event loop for their whole
 * transaction. Giving it back between statements lets responses be taken in and heartbeats sent meanwhile.
 */
const yieldBetweenStatements = (): Promise<void> => nextTurn();

/**
 * `insert … on conflict (conflict) do update` of `merge` (default every column). With `unlessSame`, a row whose
 * columns other than those listed equal the stored ones is left as it is (its `updated_at` too): a lead or
 * company that many opportunities share is written once, not once per page that mentions it.
 */
export async function upsertRows(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
  merge?: string[],
  unlessSame?: { ignoring: readonly string[] },
): Promise<void> {
  for (const rows_ of rowChunks(rows)) {
    const raw = valuesInsert(db, table, rows_, conflict, merge ?? 'all', unlessSame?.ignoring);
    if (raw !== undefined) await raw;
    else {
      const insert = db(table).insert(rows_).onConflict(conflict);
      await (merge ? insert.merge(merge) : insert.merge());
    }
    await yieldBetweenStatements();
  }
}

export async function insertIgnoring(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
): Promise<void> {
  for (const rows_ of rowChunks(rows)) {
    await (valuesInsert(db, table, rows_, conflict, 'ignore') ??
      db(table).insert(rows_).onConflict(conflict).ignore());
    await yieldBetweenStatements();
  }
}

/**
 * The statement knex's `insert(rows).onConflict(conflict).merge(…)/.ignore()` makes, written as one
 * `insert … values (…), (…) on conflict …`: knex writes a multi-row SQLite insert as a compound SELECT
 * of hundreds of terms, which SQLite is slow to prepare, and building the query costs time too.
 * Undefined (use knex) when the rows differ in shape or hold undefined (knex writes DEFAULT for those).
 */
function valuesInsert(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
  action: string[] | 'all' | 'ignore',
  /** Update only when a merged column outside this list differs from the stored row. */
  sameIgnoring?: readonly string[],
): Knex.Raw | undefined {
  const first = rows[0];
  if (first === undefined) return undefined;
  const columns = Object.keys(first);
  const bindings: unknown[] = [table, ...columns];
  for (const row of rows) {
    const values = row as Record<string, unknown>;
    if (Object.keys(values).length !== columns.length) return undefined;
    for (const column of columns) {
      const value = values[column];
      if (value === undefined) return undefined;
      bindings.push(value);
    }
  }
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  let onConflict = `on conflict (${conflict.map(() => '??').join(', ')}) do nothing`;
  bindings.push(...conflict);
  if (action !== 'ignore') {
    const merged = action === 'all' ? columns : action;
    onConflict = `on conflict (${conflict.map(() => '??').join(', ')}) do update set ${merged.map(() => '?? = excluded.??').join(', ')}`;
    for (const column of merged) bindings.push(column, column);
    if (sameIgnoring !== undefined) {
      // IS DISTINCT FROM: null-safe, in PostgreSQL and in SQLite since 3.39.
      const compared = merged.filter(
        (column) => !sameIgnoring.includes(column) && !conflict.includes(column),
      );
      onConflict += ` where ${compared.map(() => '??.?? is distinct from excluded.??').join(' or ')}`;
      for (const column of compared) bindings.push(table, column, column);
    }
  }
  const sql = `insert into ?? (${columns.map(() => '??').join(', ')}) values ${rows.map(() => tuple).join(', ')} ${onConflict}`;
  return db.raw(sql, bindings as Knex.RawBinding[]);
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
