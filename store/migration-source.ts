import type { Knex } from 'knex';
import * as initialSchema from './migrations/20240601000000_initial_schema';
import * as opportunityCurrency from './migrations/20261201000000_opportunity_currency';
import * as marketoLedger from './migrations/20261202000000_marketo_ledger';
import * as runWritten from './migrations/20261203000000_run_written';

interface Migration {
  name: string;
  module: Knex.Migration;
}

/**
 * Migrations imported explicitly instead of read from a folder, so the same names load from the
 * TypeScript sources (jest) and from compiled dist/ (.js) alike.
 */
const MIGRATIONS: Migration[] = [
  { name: '20240601000000_initial_schema', module: initialSchema },
  { name: '20261201000000_opportunity_currency', module: opportunityCurrency },
  { name: '20261202000000_marketo_ledger', module: marketoLedger },
  { name: '20261203000000_run_written', module: runWritten },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
  getMigrationName: (migration) => migration.name,
  getMigration: (migration) => Promise.resolve(migration.module),
};
