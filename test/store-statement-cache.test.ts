import Database from 'better-sqlite3';
import {
  cachePreparedStatements,
  MIN_CACHED_SQL_CHARS,
  type PreparingConnection,
} from '../store/statement-cache';

/** A long statement text (as a bulk upsert's is), distinct per `n`. */
const longSql = (n: number): string => `select ${n} as n${' '.repeat(MIN_CACHED_SQL_CHARS)}`;

describe('prepared statement cache', () => {
  it('keeps a long text from its second preparation on, a short one never, and forgets the least recently used', () => {
    const prepared: string[] = [];
    const connection: PreparingConnection = {
      prepare: (source: string) => {
        prepared.push(source);
        return { source, serial: prepared.length };
      },
    };
    cachePreparedStatements(connection, 2);
    const once = connection.prepare(longSql(1)); // seen once: not kept
    const kept = connection.prepare(longSql(1));
    expect(kept).not.toBe(once);
    expect(connection.prepare(longSql(1))).toBe(kept);
    connection.prepare('select 1');
    connection.prepare('select 1');
    connection.prepare(longSql(2));
    connection.prepare(longSql(2)); // kept
    connection.prepare(longSql(1)); // now the most recently used
    connection.prepare(longSql(3));
    connection.prepare(longSql(3)); // kept: evicts text 2
    connection.prepare(longSql(1));
    connection.prepare(longSql(2)); // seen once again since it was evicted
    expect(prepared).toEqual([
      longSql(1),
      longSql(1),
      'select 1',
      'select 1',
      longSql(2),
      longSql(2),
      longSql(3),
      longSql(3),
      longSql(2),
    ]);
  });

  it('a cached better-sqlite3 statement runs again with new values and survives a schema change', () => {
    const db = new Database(':memory:');
    try {
      cachePreparedStatements(db);
      db.exec('create table t (id integer primary key, v text)');
      const padding = ' '.repeat(MIN_CACHED_SQL_CHARS);
      const insert = `insert into t (id, v) values (?, ?), (?, ?)${padding}`;
      db.prepare(insert).run(1, 'a', 2, 'b');
      expect(db.prepare(insert)).toBe(db.prepare(insert));
      db.exec('alter table t add column w text');
      db.prepare(insert).run(3, 'c', 4, 'd');
      expect(db.prepare('select id, v, w from t order by id').all()).toEqual([
        { id: 1, v: 'a', w: null },
        { id: 2, v: 'b', w: null },
        { id: 3, v: 'c', w: null },
        { id: 4, v: 'd', w: null },
      ]);
    } finally {
      db.close();
    }
  });
});
