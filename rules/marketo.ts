/**
 * SPEC section 7: what Marketo is sent for each mirror row. Pure functions; the push (marketo/) reads the
 * rows, sends these records and keeps what Marketo accepted.
 */
import { createHash } from 'node:crypto';
import { truncate } from './text';
import type { CompanyRow, LeadRow, OpportunityRow } from './types';

/** A Marketo record: field API name → value, in the types the instance's describe names. */
export type MarketoRecord = Record<string, string | number | boolean | null>;

/** One field of an object's describe: its type and, for text, its length. */
export interface FieldSpec {
  dataType: string;
  length?: number;
}
export type Describe = ReadonlyMap<string, FieldSpec>;

export function companyRecord(row: CompanyRow): MarketoRecord {
  return {
    externalCompanyId: row.external_company_id,
    company: row.company,
    website: row.website,
    industry: row.industry,
  };
}

/**
 * A lead as Sync Leads takes it. With a custom lookup field, that field carries the contact's id (the only
 * exact mapping: two contacts never share it); with `email`, the email is the key.
 */
export function leadRecord(row: LeadRow, lookupField: string): MarketoRecord {
  return {
    ...(lookupField === 'email' ? {} : { [lookupField]: row.dynamics_contact_id }),
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    externalCompanyId: row.external_company_id,
  };
}

/** The value Marketo dedupes a contact's lead on; undefined when the contact cannot be sent (no email). */
export function leadLookupValue(row: LeadRow, lookupField: string): string | undefined {
  if (lookupField !== 'email') return row.dynamics_contact_id;
  return row.email === null || row.email === '' ? undefined : row.email;
}

/**
 * Contacts that share an email are one Marketo lead (rule 5), sent with the values of the one modified last:
 * the latest `updated_at` in the mirror, then the greatest contact id, so every worker picks the same one.
 */
export function leadOfGroup<T extends LeadRow & { updated_at: string }>(
  contacts: readonly T[],
): T | undefined {
  let chosen: T | undefined;
  for (const contact of contacts) {
    if (
      chosen === undefined ||
      contact.updated_at > chosen.updated_at ||
      (contact.updated_at === chosen.updated_at && contact.dynamics_contact_id > chosen.dynamics_contact_id)
    )
      chosen = contact;
  }
  return chosen;
}

/** An opportunity row with the selected custom columns it carries (JSON text in the mirror). */
export type OpportunityMirrorRow = Pick<
  OpportunityRow,
  | 'external_opportunity_id'
  | 'name'
  | 'description'
  | 'amount_base'
  | 'close_date'
  | 'stage'
  | 'is_closed'
  | 'is_won'
  | 'probability'
  | 'external_company_id'
  | 'external_created_date'
> & { custom_fields: string };

/** The standard opportunity fields the push sends besides the key (each only where the describe lists it). */
export const OPPORTUNITY_FIELDS = [
  'name',
  'description',
  'amount',
  'closeDate',
  'stage',
  'isClosed',
  'isWon',
  'probability',
  'externalCompanyId',
  'externalCreatedDate',
] as const;

/** Marketo holds one currency, so it gets the amount in the organisation's base currency. */
export function opportunityRecord(
  row: OpportunityMirrorRow,
  fieldMap: readonly { column: string; field: string }[],
): MarketoRecord {
  const custom = JSON.parse(row.custom_fields || '{}') as Record<string, unknown>;
  const record: MarketoRecord = {
    externalOpportunityId: row.external_opportunity_id,
    name: row.name,
    description: row.description,
    amount: row.amount_base,
    closeDate: row.close_date,
    stage: row.stage,
    isClosed: row.is_closed,
    isWon: row.is_won,
    probability: row.probability,
    externalCompanyId: row.external_company_id,
    externalCreatedDate: row.external_created_date,
  };
  for (const { column, field } of fieldMap) {
    const value = custom[column];
    record[field] = value === undefined || value === null ? null : (value as string | number | boolean);
  }
  return record;
}

export function roleRecord(role: {
  external_opportunity_id: string;
  marketo_lead_id: number;
  role: string;
  is_primary: boolean;
}): MarketoRecord {
  return {
    externalOpportunityId: role.external_opportunity_id,
    leadId: role.marketo_lead_id,
    role: role.role,
    isPrimary: role.is_primary,
  };
}

/**
 * The record as the instance's describe takes it: fields it does not list are left out (unless `always`, the
 * keys Marketo needs, which must then be refused visibly), text is cut to the field's length at a character
 * boundary, and values take the field's type.
 */
export function fitToDescribe(
  record: MarketoRecord,
  describe: Describe,
  always: readonly string[] = [],
): MarketoRecord {
  const fitted: MarketoRecord = {};
  for (const [name, value] of Object.entries(record)) {
    const spec = describe.get(name);
    if (spec === undefined) {
      if (always.includes(name)) fitted[name] = value;
      continue;
    }
    fitted[name] = typed(value, spec);
  }
  return fitted;
}

function typed(value: MarketoRecord[string], spec: FieldSpec): MarketoRecord[string] {
  if (value === null) return null;
  switch (spec.dataType) {
    case 'currency':
    case 'float':
      return Number(value);
    case 'integer':
    case 'percent':
    case 'score':
      return Math.round(Number(value));
    case 'boolean':
      return Boolean(value);
    case 'date':
      return String(value).slice(0, 10);
    case 'url': {
      // Marketo's URL fields need the scheme, which Dynamics users often leave out ("www.contoso.com").
      const text = String(value);
      const url = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `http://${text}`;
      return spec.length !== undefined ? truncate(url, spec.length) : url;
    }
    default: {
      const text = String(value);
      return spec.length !== undefined ? truncate(text, spec.length) : text;
    }
  }
}

/** A record's digest: the ledger keeps the one Marketo accepted, so an unchanged record is not sent again. */
export function recordHash(record: MarketoRecord): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('base64url').slice(0, 22);
}
