import knexFactory, { type Knex } from 'knex';
import type { CompanyRow, LeadRow, SyncErrorRow } from '../rules';
import { StoreError } from './errors';
import { migrationSource } from './migration-source';
import { upsertCompanies, upsertErrors, upsertLeads, writePage } from './page-writer';
import { PageWriterThread } from './page-writer-thread';
import { readSnapshot } from './snapshot';
import { cachePreparedStatements, type PreparingConnection } from './statement-cache';
import { deleteIn, selectIn, updateIn } from './sql';
import { PendingQueue, SyncState } from './sync-state';
import { RunWritten } from './run-written';
import type { StoreSnapshot, WriteCounts, WritePageInput } from './types';
import { parseStoreUrl } from './url';

const MIGRATION_ATTEMPTS = 100;
const MIGRATION_RETRY_MS = 100;

/** Another worker migrating at the same moment: wait for it instead of failing. */
function isConcurrentMigration(error: unknown): boolean {
  const { name, message } = error as Error;
  return (
    name === 'MigrationLocked' ||
    /already exists|duplicate key|database is locked|SQLITE_BUSY|could not serialize/i.test(String(message))
  );
}

// knex's migration lock: one row, `is_locked` 0 or 1 (its migrations table is named by default).
const LOCK_TABLE = 'knex_migrations_lock';

/**
 * knex makes its lock row by reading the table and inserting when it is empty, so two workers migrating a new
 * store at once can both insert, and with two rows knex never takes the lock again: every later start fails with
 * "Migration table is already locked" (knex/knex#3538). The row is made here first, with a fixed key, so a second
 * insert is a no-op; a store an earlier oppsync left with more rows keeps only its first (with two rows no one
 * can have held the lock).
 */
async function ensureOneLockRow(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable(LOCK_TABLE))) {
    // Two workers at once: the loser fails with "already exists", and migrate() tries again.
    await knex.schema.createTable(LOCK_TABLE, (table) => {
      table.increments('index').primary();
      table.integer('is_locked');
    });
  }
  await knex(LOCK_TABLE).insert({ index: 1, is_locked: 0 }).onConflict('index').ignore();
  await knex(LOCK_TABLE).where('index', '>', knex(LOCK_TABLE).min('index')).delete();
}

/** Two workers starting together race on CREATE SCHEMA even with IF NOT EXISTS: the loser checks and goes on. */
async function ensureSchema(knex: Knex, schema: string): Promise<void> {
  try {
    await knex.raw('create schema if not exists ??', [schema]);
  } catch (error) {
    const found = await knex.raw<{ rowCount: number }>('select 1 from pg_namespace where nspname = ?', [
      schema,
    ]);
    if (found.rowCount === 0) throw error;
  }
}

export interface StoreOptions {
  /**
   * SQLite file stores: write pages on a thread of their own (see page-writer-thread.ts), so the caller's
   * thread is free while a page's transaction runs. PostgreSQL needs none: its server does the work.
   */
  pageWriterThread?: boolean;
}

/** One open sync error as `oppsync errors` lists it. */
export interface SyncErrorListing {
  entity: string;
  record_id: string;
  error: string;
  first_seen_at: string;
  last_seen_at: string;
}

/**
 * The Marketo store (SPEC section 2) on knex, SQLite or PostgreSQL: the mirror's tables and sync errors, with the
 * sync's bookkeeping beside them (`state`, `pending`).
 */
export class MarketoStore {
  /** The sync's bookkeeping: change state, last success, run lock. */
  readonly state: SyncState;
  /** The opportunities queued for re-resolving. */
  readonly pending: PendingQueue;
  /** What each run has written, for its later pages. */
  readonly runWritten: RunWritten;

  private constructor(
    readonly knex: Knex,
    private readonly writerThread?: PageWriterThread,
  ) {
    this.state = new SyncState(knex);
    this.pending = new PendingQueue(knex);
    this.runWritten = new RunWritten(knex);
  }

  /** Connects (SQLite: WAL, foreign keys, busy timeout). Does not migrate. */
  static async open(url: string, options: StoreOptions = {}): Promise<MarketoStore> {
    const config = parseStoreUrl(url);
    let threaded = false;
    if (config.client === 'better-sqlite3') {
      const memory = (config.connection as { filename: string }).filename === ':memory:';
      // ':memory:' is one database per connection: another thread would not see it.
      threaded = options.pageWriterThread === true && !memory;
      config.pool = {
        ...config.pool,
        afterCreate: (
          conn: PreparingConnection & { pragma(source: string): unknown },
          done: (err: Error | null, conn: unknown) => void,
        ) => {
          try {
            cachePreparedStatements(conn);
            if (!memory) conn.pragma('journal_mode = WAL');
            conn.pragma('foreign_keys = ON');
            // Two processes (worker and CLI) may write the same file: wait for the lock instead of failing.
            conn.pragma('busy_timeout = 10000');
            done(null, conn);
          } catch (error) {
            done(error as Error, conn);
          }
        },
      };
    }
    const knex = knexFactory(config);
    try {
      const schema = config.searchPath?.[0];
      if (schema) await ensureSchema(knex, schema);
      await knex.raw('select 1');
    } catch (error) {
      await knex.destroy();
      throw error;
    }
    if (!threaded) return new MarketoStore(knex);
    try {
      return new MarketoStore(knex, await PageWriterThread.start(url));
    } catch (error) {
      await knex.destroy();
      throw error;
    }
  }

  /**
   * Creates or upgrades the schema; idempotent, and safe when two workers call it at once. A store that is already
   * current is left alone without taking knex's lock: a fleet of workers starting together, or one starting
   * while a migration that crashed still holds the lock, then starts at once.
   */
  async migrate(): Promise<{ applied: string[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureOneLockRow(this.knex);
        const [, pending] = (await this.knex.migrate.list({ migrationSource })) as [unknown[], unknown[]];
        if (pending.length === 0) return { applied: [] };
        const [, applied] = (await this.knex.migrate.latest({ migrationSource })) as [number, string[]];
        return { applied };
      } catch (error) {
        if (attempt < MIGRATION_ATTEMPTS && isConcurrentMigration(error)) {
          await new Promise((resolve) => setTimeout(resolve, MIGRATION_RETRY_MS));
          continue;
        }
        throw new StoreError(
          'STORE_MIGRATION_FAILED',
          `store migration failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
  }

  /** One page: its companies and leads first, then in one transaction its opportunities, roles and the rest. */
  writePage(page: WritePageInput, now: string): Promise<WriteCounts> {
    if (this.writerThread !== undefined) return this.writerThread.writePage(page, now);
    return writePage(this.knex, page, now);
  }

  /** A contact or account changed in Dynamics: refresh the leads the store has and their companies. */
  refreshLeadsAndCompanies(
    leads: LeadRow[],
    companies: CompanyRow[],
    now: string,
  ): Promise<{ leadsUpdated: number; companiesUpserted: number }> {
    return this.knex.transaction(async (trx) => {
      const knownLeads = new Set(
        await this.knownIn(
          trx,
          'leads',
          'dynamics_contact_id',
          leads.map((l) => l.dynamics_contact_id),
        ),
      );
      const updatedLeads = leads.filter((l) => knownLeads.has(l.dynamics_contact_id));
      const knownCompanies = new Set(
        await this.knownIn(
          trx,
          'companies',
          'external_company_id',
          companies.map((c) => c.external_company_id),
        ),
      );
      // A lead's new parent account may be new to the store: it is referenced now, so it belongs there.
      const referenced = new Set(updatedLeads.flatMap((l) => l.external_company_id ?? []));
      const upserted = companies.filter(
        (c) => knownCompanies.has(c.external_company_id) || referenced.has(c.external_company_id),
      );
      await upsertCompanies(trx, upserted, now);
      await upsertLeads(trx, updatedLeads, now);
      await deleteIn(
        trx,
        'sync_errors',
        'record_id',
        updatedLeads.map((l) => l.dynamics_contact_id),
        { entity: 'contact' },
      );
      await deleteIn(
        trx,
        'sync_errors',
        'record_id',
        upserted.map((c) => c.external_company_id),
        { entity: 'account' },
      );
      return { leadsUpdated: updatedLeads.length, companiesUpserted: upserted.length };
    });
  }

  /** Opportunities whose customer (primary role) is one of these contacts. */
  async opportunityIdsWithCustomerContacts(contactIds: string[]): Promise<string[]> {
    const ids = new Set<string>();
    for (const part of chunkOf(contactIds)) {
      const rows = (await this.knex('opportunity_roles as r')
        .distinct('r.external_opportunity_id')
        .join('leads as l', 'l.id', 'r.lead_id')
        .where('r.is_primary', true)
        .whereIn('l.dynamics_contact_id', part)) as { external_opportunity_id: string }[];
      for (const row of rows) ids.add(row.external_opportunity_id);
    }
    return [...ids].sort();
  }

  async opportunityIdsOfConnections(connectionIds: string[]): Promise<string[]> {
    const rows = await selectIn<{ external_opportunity_id: string }>(
      this.knex,
      'stakeholder_connections',
      'connection_id',
      connectionIds,
      ['external_opportunity_id'],
    );
    return [...new Set(rows.map((r) => r.external_opportunity_id))].sort();
  }

  knownLeadContactIds(contactIds: string[]): Promise<string[]> {
    return this.knownIn(this.knex, 'leads', 'dynamics_contact_id', contactIds);
  }

  knownCompanyIds(accountIds: string[]): Promise<string[]> {
    return this.knownIn(this.knex, 'companies', 'external_company_id', accountIds);
  }

  /** End of a full sync: opportunities that sync did not see are gone from Dynamics. */
  markUnseenDeleted(
    seenSyncId: string,
    now: string,
  ): Promise<{ opportunitiesDeleted: number; rolesDeleted: number }> {
    return this.knex.transaction(async (trx) => {
      const unseen = (
        (await trx('opportunities')
          .select('external_opportunity_id')
          .where('is_deleted', false)
          .andWhere((q) => void q.whereNull('last_seen_sync').orWhereNot('last_seen_sync', seenSyncId))) as {
          external_opportunity_id: string;
        }[]
      ).map((r) => r.external_opportunity_id);
      const opportunitiesDeleted = await updateIn(trx, 'opportunities', 'external_opportunity_id', unseen, {
        is_deleted: true,
        updated_at: now,
      });
      const rolesDeleted = await deleteIn(trx, 'opportunity_roles', 'external_opportunity_id', unseen);
      await deleteIn(trx, 'stakeholder_connections', 'external_opportunity_id', unseen);
      await deleteIn(trx, 'sync_pending', 'external_opportunity_id', unseen);
      return { opportunitiesDeleted, rolesDeleted };
    });
  }

  async recordErrors(errors: SyncErrorRow[], now: string): Promise<void> {
    await upsertErrors(this.knex, errors, now);
  }

  openErrorCount(): Promise<number> {
    return this.count('sync_errors');
  }

  /** Open sync errors, oldest first (`oppsync errors`). */
  async openErrors(): Promise<SyncErrorListing[]> {
    return (await this.knex('sync_errors')
      .select('entity', 'record_id', 'error', 'first_seen_at', 'last_seen_at')
      .orderBy([
        { column: 'first_seen_at' },
        { column: 'entity' },
        { column: 'record_id' },
      ])) as SyncErrorListing[];
  }

  /**
   * Up to `limit` opportunities with an open error, those tried longest ago first: each run re-reads them, so a
   * record whose cause was fixed elsewhere syncs without waiting for a change of its own.
   */
  async erroredOpportunityIds(limit: number): Promise<string[]> {
    const rows = (await this.knex('sync_errors')
      .select('record_id')
      .where({ entity: 'opportunity' })
      .orderBy([{ column: 'last_seen_at' }, { column: 'record_id' }])
      .limit(limit)) as { record_id: string }[];
    return rows.map((row) => row.record_id);
  }

  snapshot(): Promise<StoreSnapshot> {
    return readSnapshot(this.knex);
  }

  async close(): Promise<void> {
    await this.writerThread?.close();
    await this.knex.destroy();
  }

  private async count(table: string): Promise<number> {
    const row = (await this.knex(table).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  private async knownIn(
    db: Knex | Knex.Transaction,
    table: string,
    column: string,
    ids: string[],
  ): Promise<string[]> {
    const rows = await selectIn<Record<string, string>>(db, table, column, ids, [column]);
    return rows.map((r) => r[column] ?? '').sort();
  }
}

function chunkOf(ids: string[]): string[][] {
  const unique = [...new Set(ids)];
  const parts: string[][] = [];
  for (let i = 0; i < unique.length; i += 5_000) parts.push(unique.slice(i, i + 5_000));
  return parts;
}
