/** Whole tables in a form tests can compare across SQLite (0/1 booleans) and PostgreSQL. */
import type { Knex } from 'knex';
import type { CompanyRow, LeadRow, RoleRow, SyncErrorRow } from '../rules';
import type { StoreSnapshot } from './types';

type Row = Record<string, unknown>;

const toNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const toText = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
};

function byKey<T>(rows: T[], key: (row: T) => string): T[] {
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export async function readSnapshot(knex: Knex): Promise<StoreSnapshot> {
  const opportunities = ((await knex('opportunities').select()) as Row[]).map((r) => ({
    external_opportunity_id: String(r.external_opportunity_id),
    name: toText(r.name),
    external_company_id: toText(r.external_company_id),
    description: toText(r.description),
    amount: toNumber(r.amount),
    actual_amount: toNumber(r.actual_amount),
    currency: toText(r.currency),
    amount_base: toNumber(r.amount_base),
    actual_amount_base: toNumber(r.actual_amount_base),
    close_date: toText(r.close_date),
    actual_close_date: toText(r.actual_close_date),
    stage: toText(r.stage),
    sales_stage: toText(r.sales_stage),
    pipeline_phase: toText(r.pipeline_phase),
    probability: toNumber(r.probability),
    status: toText(r.status),
    is_closed: Boolean(r.is_closed),
    is_won: Boolean(r.is_won),
    custom_fields: String(r.custom_fields),
    external_created_date: toText(r.external_created_date),
    last_modified_at: toText(r.last_modified_at),
    is_deleted: Boolean(r.is_deleted),
  }));
  const roles = (
    await knex('opportunity_roles as r')
      .join('leads as l', 'l.id', 'r.lead_id')
      .select<Row[]>('r.external_opportunity_id', 'l.dynamics_contact_id', 'r.role', 'r.is_primary')
  ).map((r): RoleRow => ({
    external_opportunity_id: String(r.external_opportunity_id),
    dynamics_contact_id: String(r.dynamics_contact_id),
    role: String(r.role),
    is_primary: Boolean(r.is_primary),
  }));
  const leads = ((await knex('leads').select()) as Row[]).map((r): LeadRow => ({
    dynamics_contact_id: String(r.dynamics_contact_id),
    email: toText(r.email),
    first_name: toText(r.first_name),
    last_name: toText(r.last_name),
    external_company_id: toText(r.external_company_id),
  }));
  const companies = ((await knex('companies').select()) as Row[]).map((r): CompanyRow => ({
    external_company_id: String(r.external_company_id),
    company: toText(r.company),
    website: toText(r.website),
    industry: toText(r.industry),
  }));
  const syncErrors = ((await knex('sync_errors').select()) as Row[]).map((r): SyncErrorRow => ({
    entity: String(r.entity) as SyncErrorRow['entity'],
    record_id: String(r.record_id),
    error: String(r.error),
    payload: String(r.payload),
  }));
  return {
    opportunities: byKey(opportunities, (o) => o.external_opportunity_id),
    roles: byKey(roles, (r) => `${r.external_opportunity_id}|${r.dynamics_contact_id}|${r.role}`),
    leads: byKey(leads, (l) => l.dynamics_contact_id),
    companies: byKey(companies, (c) => c.external_company_id),
    syncErrors: byKey(syncErrors, (e) => `${e.entity}|${e.record_id}`),
  };
}
