import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MarketoStore, parseStoreUrl } from '../store';

describe('store URL', () => {
  it('a sqlite: URL names a file whose folder is created', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-url-'));
    const file = path.join(dir, 'a', 'b', 'marketo.sqlite');
    const config = parseStoreUrl(`sqlite:${file}`);
    expect(config).toMatchObject({ client: 'better-sqlite3', connection: { filename: file } });
    expect(fs.statSync(path.dirname(file)).isDirectory()).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sqlite::memory: is an in-memory database on a single connection', async () => {
    expect(parseStoreUrl('sqlite::memory:')).toMatchObject({
      connection: { filename: ':memory:' },
      pool: { max: 1 },
    });
    const store = await MarketoStore.open('sqlite::memory:');
    try {
      expect((await store.migrate()).applied).toEqual([
        '20240601000000_initial_schema',
        '20261201000000_opportunity_currency',
        '20261202000000_marketo_ledger',
        '20261203000000_run_written',
      ]);
      expect(await store.openErrorCount()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('a postgres URL keeps the connection string and turns ?schema= into the search path', () => {
    const config = parseStoreUrl('postgres://u:p@db.example.com:5432/marketo?schema=sync&sslmode=require');
    expect(config).toMatchObject({
      client: 'pg',
      connection: 'postgres://u:p@db.example.com:5432/marketo?sslmode=require',
      searchPath: ['sync'],
    });
  });

  it('an unknown URL is a StoreError that does not repeat the password', () => {
    let thrown: unknown;
    try {
      parseStoreUrl('mysql://user:hunter2@db/marketo');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'StoreError', code: 'STORE_URL_INVALID' });
    expect((thrown as Error).message).toContain('mysql://user:***@db/marketo');
    expect((thrown as Error).message).not.toContain('hunter2');
  });
});
