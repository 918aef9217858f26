/**
 * A per-connection cache of prepared SQLite statements. knex prepares every statement it runs; a page's bulk
 * upserts are the same few texts again and again (hundreds of rows, thousands of parameters each), and
 * preparing them anew took about a tenth of the writer's time. better-sqlite3 statements are reusable (they
 * are reset before each run) and re-prepare themselves after a schema change, so a cached one stays valid.
 * A statement is kept only once its text comes a second time: most long texts come once (a chunk's last,
 * shorter statement, an `in (…)` of a page's ids), and a prepared statement of 2,000 parameters holds about
 * 0.35 MiB, so keeping those would hold tens of MiB for nothing.
 */

/** What the cache needs of a better-sqlite3 Database. */
export interface PreparingConnection {
  prepare(source: string): unknown;
}

/** Statement texts kept per connection; the least recently used goes first. */
export const STATEMENT_CACHE_SIZE = 64;

/** Texts shorter than this are cheap to prepare and too varied to be worth keeping. */
export const MIN_CACHED_SQL_CHARS = 2_000;

/** Makes `connection.prepare` return a cached statement for a text it prepared before. */
export function cachePreparedStatements(
  connection: PreparingConnection,
  capacity = STATEMENT_CACHE_SIZE,
): void {
  const prepare = connection.prepare.bind(connection);
  const cache = new Map<string, unknown>();
  /** Long texts prepared once and not kept (the newest `capacity` of them). */
  const seenOnce = new Set<string>();
  connection.prepare = (source: string): unknown => {
    if (source.length < MIN_CACHED_SQL_CHARS) return prepare(source);
    const cached = cache.get(source);
    if (cached !== undefined) {
      // Map order is insertion order: re-inserting marks it most recently used.
      cache.delete(source);
      cache.set(source, cached);
      return cached;
    }
    const statement = prepare(source);
    if (!seenOnce.delete(source)) {
      addBounded(seenOnce, source, capacity);
      return statement;
    }
    cache.set(source, statement);
    if (cache.size > capacity) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    return statement;
  };
}

/** Adds `item` as the newest of `set`, dropping the oldest past `capacity`. */
function addBounded(set: Set<string>, item: string, capacity: number): void {
  set.add(item);
  if (set.size > capacity) {
    const oldest = set.values().next();
    if (oldest.done !== true) set.delete(oldest.value);
  }
}
