/**
 * writePage: one resolved page into the store, in Marketo's order: the rows it shares with other pages first, each
 * table in a short transaction, then its own rows in one transaction.
 */
import type { Knex } from 'knex';
import type { CompanyRow, LeadRow, SyncErrorRow } from '../rules';
import { chunk } from './chunks';
import { StoreError } from './errors';
import { recordRunWritten } from './run-written';
import { countIn, deleteIn, selectIn, updateIn, upsertRows } from './sql';
import type { WriteCounts, WritePageInput } from './types';

interface RoleKeyRow {
  external_opportunity_id: string;
  lead_id: number;
  role: string;
}

/**
 * Writes a page. The rows it shares with other pages come first, each table in a transaction of its own:
 * companies, leads, then the run's record of them. Partitions of a backfill write the same accounts and contacts
 * at the same time, and on PostgreSQL an insert of a row another transaction has just inserted waits until that
 * one commits: inside the page's transaction every such wait lasted a whole page, and four partitions wrote about
 * one page at a time (174 of 206 sampled active store backends were waiting on a companies insert). Committed
 * apart, each holds its locks for one table's statements (12 of 27). A page that fails after them leaves
 * companies and leads that its retry finds written (they are kept anyway, docs/decisions.md), never its
 * opportunities or roles.
 */
export async function writePage(knex: Knex, page: WritePageInput, now: string): Promise<WriteCounts> {
  await knex.transaction((trx) => upsertCompanies(trx, page.companies, now));
  await knex.transaction((trx) => upsertLeads(trx, page.leads, now));
  const { runWritten } = page;
  if (runWritten !== undefined) await knex.transaction((trx) => recordRunWritten(trx, runWritten));
  return knex.transaction((trx) => writeOwnRows(trx, page, now));
}

/** The page's own rows: opportunities, roles, connections, deletions, errors and its pending entries. */
async function writeOwnRows(trx: Knex.Transaction, page: WritePageInput, now: string): Promise<WriteCounts> {
  const opportunityIds = page.opportunities.map((o) => o.external_opportunity_id);
  // Opportunities that failed mapping still exist in Dynamics: a full sync must not mark them deleted. An error's
  // record id is the opportunity's stored id when it was readable (and then matches no row otherwise).
  const erroredOpportunityIds = page.errors.filter((e) => e.entity === 'opportunity').map((e) => e.record_id);

  const leadIds = await leadIdsOf(
    trx,
    page.roles.map((r) => r.dynamics_contact_id),
  );

  await upsertRows(trx, 'opportunities', page.opportunities, ['external_opportunity_id'], {
    constants: {
      is_deleted: false,
      updated_at: now,
      ...(page.seenSyncId !== undefined ? { last_seen_sync: page.seenSyncId } : {}),
    },
  });

  const roles = page.roles.map((r) => ({
    external_opportunity_id: r.external_opportunity_id,
    lead_id: leadIdOf(leadIds, r.dynamics_contact_id),
    role: r.role,
    is_primary: r.is_primary,
    updated_at: now,
  }));
  await upsertRows(trx, 'opportunity_roles', roles, ['external_opportunity_id', 'lead_id', 'role'], {
    merge: ['is_primary', 'updated_at'],
  });
  const staleRolesDeleted = await deleteStaleRoles(trx, opportunityIds, roles);

  const opportunitiesDeleted = await updateIn(
    trx,
    'opportunities',
    'external_opportunity_id',
    page.deletedOpportunityIds,
    { is_deleted: true, updated_at: now },
    { is_deleted: false },
  );
  const deletedRoles = await deleteIn(
    trx,
    'opportunity_roles',
    'external_opportunity_id',
    page.deletedOpportunityIds,
  );

  // Errors of records that synced (or were deleted) this time are no longer open.
  await deleteIn(trx, 'sync_errors', 'record_id', [...opportunityIds, ...page.deletedOpportunityIds], {
    entity: 'opportunity',
  });
  await deleteIn(
    trx,
    'sync_errors',
    'record_id',
    page.leads.map((l) => l.dynamics_contact_id),
    {
      entity: 'contact',
    },
  );
  await deleteIn(
    trx,
    'sync_errors',
    'record_id',
    page.companies.map((c) => c.external_company_id),
    {
      entity: 'account',
    },
  );
  await deleteIn(
    trx,
    'sync_errors',
    'record_id',
    page.stakeholderConnections.map((c) => c.connection_id),
    {
      entity: 'connection',
    },
  );
  const syncErrors = await upsertErrors(trx, page.errors, now);

  // The page's opportunities get exactly the connections that made their roles now.
  await deleteIn(trx, 'stakeholder_connections', 'external_opportunity_id', [
    ...opportunityIds,
    ...page.deletedOpportunityIds,
  ]);
  await upsertRows(trx, 'stakeholder_connections', page.stakeholderConnections, ['connection_id']);

  await deleteIn(trx, 'sync_pending', 'external_opportunity_id', [
    ...opportunityIds,
    ...page.deletedOpportunityIds,
    ...page.skippedIds,
    ...erroredOpportunityIds,
  ]);
  if (page.seenSyncId !== undefined) {
    await updateIn(
      trx,
      'opportunities',
      'external_opportunity_id',
      [...page.skippedIds, ...erroredOpportunityIds],
      {
        last_seen_sync: page.seenSyncId,
      },
    );
  }

  return {
    opportunitiesUpserted: page.opportunities.length,
    opportunitiesDeleted,
    rolesUpserted: roles.length,
    rolesDeleted: staleRolesDeleted + deletedRoles,
    leadsUpserted: page.leads.length,
    companiesUpserted: page.companies.length,
    syncErrors,
  };
}

async function leadIdsOf(trx: Knex.Transaction, contactIds: string[]): Promise<Map<string, number>> {
  const rows = await selectIn<{ id: number | string; dynamics_contact_id: string }>(
    trx,
    'leads',
    'dynamics_contact_id',
    contactIds,
    ['id', 'dynamics_contact_id'],
  );
  return new Map(rows.map((r) => [r.dynamics_contact_id, Number(r.id)]));
}

function leadIdOf(leadIds: Map<string, number>, contactId: string): number {
  const id = leadIds.get(contactId);
  if (id === undefined) {
    throw new StoreError(
      'STORE_LEAD_MISSING',
      `role points to contact ${contactId}, which is neither in the page nor in leads`,
    );
  }
  return id;
}

function roleKey(r: RoleKeyRow): string {
  return `${r.external_opportunity_id}|${Number(r.lead_id)}|${r.role}`;
}

/** Roles of the written opportunities that are not in the new set (the page holds their complete set). */
async function deleteStaleRoles(
  trx: Knex.Transaction,
  opportunityIds: string[],
  roles: RoleKeyRow[],
): Promise<number> {
  // Every role of the page exists now (just upserted, one row per key): as many rows as roles means no stale
  // one, which is every page of a first sync. Counting is one index range; reading them back is ten thousand rows.
  if ((await countIn(trx, 'opportunity_roles', 'external_opportunity_id', opportunityIds)) === roles.length)
    return 0;
  const keep = new Set(roles.map(roleKey));
  const existing = await selectIn<RoleKeyRow>(
    trx,
    'opportunity_roles',
    'external_opportunity_id',
    opportunityIds,
    ['external_opportunity_id', 'lead_id', 'role'],
  );
  const stale = existing.filter((r) => !keep.has(roleKey(r)));
  // Row-value IN, not an OR chain: SQLite caps expression depth at 1,000.
  for (const part of chunk(stale, 1_000)) {
    await trx('opportunity_roles')
      .whereIn(
        ['external_opportunity_id', 'lead_id', 'role'],
        part.map((r) => [r.external_opportunity_id, r.lead_id, r.role]),
      )
      .delete();
  }
  return stale.length;
}

/**
 * Rows keyed by their Dynamics id, stamped `updated_at = now`; a row whose data did not change is left as it
 * is, its `updated_at` too (a contact or account shared by many pages is written once).
 */
async function upsertUnlessUnchanged(
  db: Knex | Knex.Transaction,
  table: 'companies' | 'leads',
  key: string,
  rows: readonly object[],
  now: string,
): Promise<void> {
  await upsertRows(db, table, rows, [key], {
    unlessSame: { ignoring: ['updated_at'] },
    constants: { updated_at: now },
  });
}

/** Companies by Dynamics account id. */
export function upsertCompanies(db: Knex | Knex.Transaction, companies: CompanyRow[], now: string) {
  return upsertUnlessUnchanged(db, 'companies', 'external_company_id', companies, now);
}

/** Leads by Dynamics contact id (their Marketo id stays). */
export function upsertLeads(db: Knex | Knex.Transaction, leads: LeadRow[], now: string) {
  return upsertUnlessUnchanged(db, 'leads', 'dynamics_contact_id', leads, now);
}

/** Upsert by (entity, record_id): first_seen_at stays, last_seen_at moves. Returns the rows recorded. */
export async function upsertErrors(
  db: Knex | Knex.Transaction,
  errors: SyncErrorRow[],
  now: string,
): Promise<number> {
  const unique = new Map(errors.map((e) => [`${e.entity}|${e.record_id}`, e]));
  const rows = [...unique.values()].map((e) => ({ ...e, first_seen_at: now, last_seen_at: now }));
  await upsertRows(db, 'sync_errors', rows, ['entity', 'record_id'], {
    merge: ['error', 'payload', 'last_seen_at'],
  });
  return rows.length;
}
