import fs from 'node:fs';
import knexFactory from 'knex';
import { StoreError } from './errors';
import { migrationSource } from './migration-source';
import { parseStoreUrl } from './url';

/** The store's migrations: applied, still to apply, and applied ones this version does not know (a newer oppsync's). */
export interface SchemaStatus {
  applied: string[];
  pending: string[];
  unknown: string[];
}

// knex's default migrations table, which MarketoStore.migrate uses.
const MIGRATIONS_TABLE = 'knex_migrations';

/**
 * Reads which migrations the store at `url` has had without changing anything: no folder, file, schema or
 * table is created (knex's own migrate.list creates its migrations table), and a SQLite file is opened
 * read-only. Throws when the store cannot be reached, or STORE_FILE_MISSING when a SQLite file is not there.
 */
export async function readSchemaStatus(url: string): Promise<SchemaStatus> {
  const config = parseStoreUrl(url, { readOnly: true });
  const filename = (config.connection as { filename?: string }).filename;
  if (filename !== undefined && filename !== ':memory:' && !fs.existsSync(filename)) {
    throw new StoreError('STORE_FILE_MISSING', `no SQLite file at ${filename}`);
  }
  const knex = knexFactory({
    ...config,
    // A preflight waits seconds, not knex's minute, for a server that does not answer.
    acquireConnectionTimeout: 10_000,
    // knex logs a refused connection on stdout before it rejects: the rejection alone reports it.
    log: { warn() {}, error() {}, deprecate() {}, debug() {} },
  });
  try {
    const known = (await migrationSource.getMigrations([])).map((migration) =>
      migrationSource.getMigrationName(migration),
    );
    const applied = (await knex.schema.hasTable(MIGRATIONS_TABLE))
      ? ((await knex(MIGRATIONS_TABLE).select('name').orderBy('id')) as { name: string }[]).map(
          (row) => row.name,
        )
      : [];
    return {
      applied,
      pending: known.filter((name) => !applied.includes(name)),
      unknown: applied.filter((name) => !known.includes(name)),
    };
  } finally {
    await knex.destroy();
  }
}
