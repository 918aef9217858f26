/** The two store backends every store test runs on: a temporary SQLite file and a fresh PostgreSQL schema. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { MarketoStore } from '../store';

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: string;
  /** A URL to a new, empty database for one test file. */
  create(): Promise<{ url: string; dispose(): Promise<void> }>;
}

export const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    create() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-store-'));
      return Promise.resolve({
        url: `sqlite:${path.join(dir, 'nested', 'marketo.sqlite')}`,
        dispose: () => fs.promises.rm(dir, { recursive: true, force: true }),
      });
    },
  },
  {
    name: 'PostgreSQL',
    create() {
      const schema = `oppsync_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('schema', schema);
      return Promise.resolve({
        url: url.toString(),
        async dispose() {
          const admin = knexFactory({ client: 'pg', connection: POSTGRES_URL });
          try {
            await admin.raw('drop schema if exists ?? cascade', [schema]);
          } finally {
            await admin.destroy();
          }
        },
      });
    },
  },
];

/** Opens and migrates a store on a fresh database; `done` closes it and drops the database. */
export async function freshStore(
  backend: Backend,
): Promise<{ store: MarketoStore; url: string; done: () => Promise<void> }> {
  const db = await backend.create();
  const store = await MarketoStore.open(db.url);
  await store.migrate();
  return {
    store,
    url: db.url,
    done: async () => {
      await store.close();
      await db.dispose();
    },
  };
}
