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

/** How upsertRows treats a conflict, and columns every row shares. */
export interface UpsertOptions {
  /** Columns to update on conflict (default every column). */
  merge?: string[];
  /**
   * A row whose columns other than those listed equal the stored ones is left as it is (its `updated_at` too):
   * a lead or company that many opportunities share is written once, not once per page that mentions it.
   */
  unlessSame?: { ignoring: readonly string[] };
  /** Columns with the same value in every row (a timestamp, a flag), added to each without copying the rows. */
  constants?: Readonly<Record<string, unknown>>;
}

/**
 * `insert … on conflict (conflict) do update`, in statements of as many rows as the parameter limits allow. The
 * rows go in the order of their conflict key and the key is never in the update: two PostgreSQL transactions
 * writing shared leads or companies (two partitions' pages) then lock them in the same order, and only take
 * the lock that leaves another's foreign-key check free (updating a key column takes one that blocks it).
 */
export async function upsertRows(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
  options: UpsertOptions = {},
): Promise<void> {
  const { merge, unlessSame, constants = {} } = options;
  for (const rows_ of rowChunks(inKeyOrder(rows, conflict))) {
    const statement = valuesInsert(
      db,
      table,
      rows_,
      conflict,
      merge ?? 'all',
      unlessSame?.ignoring,
      constants,
    );
    if (statement !== undefined) await runPositional(db, statement);
    else {
      const complete = rows_.map((row) => ({ ...row, ...constants }));
      const columns = [...new Set(complete.flatMap((row) => Object.keys(row)))];
      await db(table)
        .insert(complete)
        .onConflict(conflict)
        .merge(merge ?? columns.filter((column) => !conflict.includes(column)));
    }
    await yieldBetweenStatements();
  }
}

/** The rows sorted by the given columns (a copy; string or number values). */
function inKeyOrder(rows: readonly object[], columns: readonly string[]): readonly object[] {
  const key = (row: object, column: string) => (row as Record<string, string | number>)[column]!;
  return [...rows].sort((a, b) => {
    for (const column of columns) {
      const x = key(a, column);
      const y = key(b, column);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}

export async function insertIgnoring(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly object[],
  conflict: string[],
): Promise<void> {
  for (const rows_ of rowChunks(rows)) {
    const statement = valuesInsert(db, table, rows_, conflict, 'ignore');
    if (statement !== undefined) await runPositional(db, statement);
    else await db(table).insert(rows_).onConflict(conflict).ignore();
    await yieldBetweenStatements();
  }
}

/** SQL with positional `?` values; identifiers are already quoted in the text. */
interface PositionalStatement {
  sql: string;
  values: unknown[];
}

/** What runPositional needs of knex's client (not in knex's public types). */
interface KnexClientInternals {
  config: { client?: unknown };
  wrapIdentifier(name: string, queryContext: unknown): string;
  acquireConnection(): Promise<{ prepare(sql: string): { run(values: unknown[]): unknown } }>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

const clientOf = (db: Knex | Knex.Transaction): KnexClientInternals => db.client as KnexClientInternals;

/**
 * Runs a bulk statement. On SQLite it goes straight to the connection's better-sqlite3 driver (inside the
 * transaction, which holds that connection): knex would scan the text for each of its thousands of `?` and
 * copy every value once more, about a tenth of a page write. PostgreSQL statements go through knex.
 */
async function runPositional(db: Knex | Knex.Transaction, statement: PositionalStatement): Promise<void> {
  const client = clientOf(db);
  if (client.config.client !== 'better-sqlite3') {
    await db.raw(statement.sql, statement.values as Knex.RawBinding[]);
    return;
  }
  const connection = await client.acquireConnection();
  try {
    // As knex binds them for SQLite: booleans as 0/1 (the driver takes numbers, strings, null and buffers). The
    // values are this statement's own array, so they are converted where they are rather than copied.
    const { values } = statement;
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i];
      if (typeof value === 'boolean') values[i] = Number(value);
    }
    connection.prepare(statement.sql).run(values);
  } finally {
    await client.releaseConnection(connection);
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
  /** Columns to update on conflict, all of them, do nothing on conflict, or no conflict clause (`plain`). */
  action: string[] | 'all' | 'ignore' | 'plain',
  /** Update only when a merged column outside this list differs from the stored row. */
  sameIgnoring?: readonly string[],
  /** Columns added to every row (they replace a row's own column of the same name). */
  constants: Readonly<Record<string, unknown>> = {},
): PositionalStatement | undefined {
  const first = rows[0];
  if (first === undefined) return undefined;
  const constantColumns = Object.keys(constants);
  const constantValues = constantColumns.map((column) => constants[column]);
  if (constantValues.includes(undefined)) return undefined;
  const rowColumns = Object.keys(first);
  const ownColumns = rowColumns.filter((column) => !Object.hasOwn(constants, column));
  const columns = [...ownColumns, ...constantColumns];
  const values: unknown[] = [];
  for (const row of rows) {
    const fields = row as Record<string, unknown>;
    // Same shape as the first row, counted without building a key array per row.
    let count = 0;
    for (const key in fields) if (Object.hasOwn(fields, key)) count += 1;
    if (count !== rowColumns.length) return undefined;
    for (const column of ownColumns) {
      const value = fields[column];
      if (value === undefined) return undefined;
      values.push(value);
    }
    for (const value of constantValues) values.push(value);
  }
  const client = clientOf(db);
  const id = (name: string): string => client.wrapIdentifier(name, undefined);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const conflictList = conflict.map(id).join(', ');
  let onConflict = action === 'plain' ? '' : ` on conflict (${conflictList}) do nothing`;
  if (action !== 'ignore' && action !== 'plain') {
    const merged = action === 'all' ? columns.filter((column) => !conflict.includes(column)) : action;
    onConflict = ` on conflict (${conflictList}) do update set ${merged.map((c) => `${id(c)} = excluded.${id(c)}`).join(', ')}`;
    if (sameIgnoring !== undefined) {
      // IS DISTINCT FROM: null-safe, in PostgreSQL and in SQLite since 3.39.
      const compared = merged.filter(
        (column) => !sameIgnoring.includes(column) && !conflict.includes(column),
      );
      onConflict += ` where ${compared.map((c) => `${id(table)}.${id(c)} is distinct from excluded.${id(c)}`).join(' or ')}`;
    }
  }
  const sql = `insert into ${id(table)} (${columns.map(id).join(', ')}) values ${rows.map(() => tuple).join(', ')}${onConflict}`;
  return { sql, values };
}

/**
 * Plain multi-row inserts, as fast as this store writes rows (the benchmark's limit): `null` for a missing
 * value, no conflict handling.
 */
export async function insertRows(
  db: Knex | Knex.Transaction,
  table: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  const first = rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first);
  const complete = rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null])));
  for (const rows_ of rowChunks(complete)) {
    const statement = valuesInsert(db, table, rows_, [], 'plain');
    if (statement !== undefined) await runPositional(db, statement);
    else await db(table).insert(rows_);
  }
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

/** `select count(*) from table where column in (ids)`, over as many statements as needed. */
export async function countIn(
  db: Knex | Knex.Transaction,
  table: string,
  column: string,
  ids: readonly string[],
): Promise<number> {
  let count = 0;
  for (const part of idChunks([...new Set(ids)])) {
    const [row] = (await db(table).count({ n: '*' }).whereIn(column, part)) as { n: number | string }[];
    count += Number(row?.n ?? 0);
  }
  return count;
}

/**
 * `delete from table where column in (ids) [and extra]`; returns the number of rows deleted. A page clears
 * thousands of ids from tables that are usually empty of them (open errors, pending opportunities): when no
 * row matches `extra` at all, one indexed probe replaces statements of thousands of bound ids.
 */
export async function deleteIn(
  db: Knex | Knex.Transaction,
  table: string,
  column: string,
  ids: readonly string[],
  extra: Record<string, string> = {},
): Promise<number> {
  if (ids.length === 0) return 0;
  const any = (await db(table).select(db.raw('1 as found')).where(extra).limit(1)) as unknown[];
  if (any.length === 0) return 0;
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
