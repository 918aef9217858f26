import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { StoreError } from './errors';
import { redactUrl } from './redact';

/**
 * MARKETO_DB_URL → knex config. 'sqlite:<file>' (folder created), 'sqlite::memory:', or
 * 'postgres://…' with an optional `?schema=<name>` that becomes the search path. `readOnly` opens a SQLite
 * file read-only and creates no folder (PostgreSQL connections are not restricted: the caller only reads).
 */
export function parseStoreUrl(url: string, options: { readOnly?: boolean } = {}): Knex.Config {
  if (url.startsWith('sqlite:')) {
    let filename = url.slice('sqlite:'.length);
    if (filename.startsWith('//')) filename = filename.slice(2); // sqlite:///abs/path
    if (filename === '') throw new StoreError('STORE_URL_INVALID', `store URL ${url} names no SQLite file`);
    if (filename !== ':memory:' && options.readOnly !== true)
      fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    // better-sqlite3 is synchronous and one connection serialises writes; ':memory:' must stay one database.
    return {
      client: 'better-sqlite3',
      connection: { filename, ...(options.readOnly === true ? { options: { readonly: true } } : {}) },
      useNullAsDefault: true,
      pool: { min: 1, max: 1 },
    };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    parsed.searchParams.delete('schema');
    return {
      client: 'pg',
      connection: parsed.toString(),
      ...(schema ? { searchPath: [schema] } : {}),
      pool: { min: 0, max: 10 },
    };
  }
  throw new StoreError(
    'STORE_URL_INVALID',
    `store URL ${redactUrl(url)} is not sqlite:<file>, sqlite::memory: or postgres://…`,
  );
}
