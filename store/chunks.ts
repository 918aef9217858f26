/**
 * Bound parameters per statement: well under SQLite's 32,766 and PostgreSQL's 65,535, so any page
 * size splits into statements both databases accept.
 */
export const MAX_PARAMETERS = 10_000;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** knex writes a multi-row SQLite insert as one compound SELECT, which SQLite caps at 500 terms. */
export const MAX_ROWS_PER_INSERT = 500;

/** Chunks of rows whose insert stays within MAX_PARAMETERS and MAX_ROWS_PER_INSERT. */
export function rowChunks<T extends object>(rows: readonly T[]): T[][] {
  const first = rows[0];
  if (!first) return [];
  const byParameters = Math.floor(MAX_PARAMETERS / Object.keys(first).length);
  return chunk(rows, Math.max(1, Math.min(MAX_ROWS_PER_INSERT, byParameters)));
}

/** Chunks of ids for `where … in (…)`. */
export function idChunks<T>(ids: readonly T[]): T[][] {
  return chunk(ids, MAX_PARAMETERS / 2);
}
