import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

const ADMIN_URL = process.env.OPPSYNC_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TargetStore {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty store: a SQLite file in `dir`, or a new PostgreSQL database dropped afterwards. */
export async function createTargetStore(
  kind: 'sqlite' | 'postgres',
  dir: string,
  name: string,
): Promise<TargetStore> {
  if (kind === 'sqlite') {
    const file = path.join(dir, `${name}.sqlite`);
    const drop = async (): Promise<void> => {
      for (const suffix of ['', '-wal', '-shm']) await fs.rm(`${file}${suffix}`, { force: true });
    };
    return { url: `sqlite:${file}`, drop };
  }
  const database = `oppsync_bench_${name}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${database}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`) };
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
