/**
 * The seed's rules (SPEC section 1) over one page of opportunities: which contacts and accounts a page needs,
 * then the rows to write: each opportunity mapped (section 3), its customer (rule 4, customer.ts) and its
 * stakeholders (rule 5, stakeholders.ts). Pure: no I/O, no clock.
 */
import { customerOf, ErrorList, RelatedRecords } from './customer';
import { readKey, readLookup, readLookupSafe } from './fields';
import { isFilteredOut, mapOpportunityCore } from './mapping';
import { stakeholderLink, stakeholderRoles } from './stakeholders';
import type {
  ConnectionRole,
  OpportunityRow,
  RawRecord,
  ResolvedPage,
  ResolvePageInput,
  RoleRow,
  StakeholderConnection,
} from './types';

/** Opportunity ids of the page that will be synced (readable key, not excluded by the filter). */
function syncedOpportunityIds(opportunities: RawRecord[], options: ResolvePageInput['options']): Set<string> {
  const ids = new Set<string>();
  for (const raw of opportunities) {
    const id = readLookupSafe(() => readKey(raw, 'opportunityid'));
    if (id && !isFilteredOut(raw, options)) ids.add(id);
  }
  return ids;
}

/** Stage 1: the contacts and accounts a page needs: customers by type, stakeholder contacts. */
export function referencedIds(
  opportunities: RawRecord[],
  connections: RawRecord[],
  roles: Map<string, ConnectionRole>,
  options: ResolvePageInput['options'] = { customFields: [] },
): { contactIds: string[]; accountIds: string[] } {
  const contactIds = new Set<string>();
  const accountIds = new Set<string>();
  const pageIds = syncedOpportunityIds(opportunities, options);
  for (const raw of opportunities) {
    const id = readLookupSafe(() => readKey(raw, 'opportunityid'));
    const customer = readLookupSafe(() => readLookup(raw, 'customerid'));
    if (!id || !pageIds.has(id) || !customer) continue;
    if (customer.type === 'contact') contactIds.add(customer.id);
    if (customer.type === 'account') accountIds.add(customer.id);
  }
  for (const raw of connections) {
    const link = stakeholderLink(raw, roles);
    if (link && 'contactId' in link && pageIds.has(link.opportunityId)) contactIds.add(link.contactId);
  }
  return { contactIds: [...contactIds].sort(), accountIds: [...accountIds].sort() };
}

/** A contact's parent account (parentcustomerid of type account), or null. */
function parentAccountId(contact: RawRecord): string | null {
  const parent = readLookupSafe(() => readLookup(contact, 'parentcustomerid'));
  return parent?.type === 'account' ? parent.id : null;
}

/** Stage 2: accounts that fetched contacts point to (parentcustomerid of type account). */
export function parentAccountIds(contacts: RawRecord[]): string[] {
  const ids = new Set<string>();
  for (const raw of contacts) {
    const parent = parentAccountId(raw);
    if (parent !== null) ids.add(parent);
  }
  return [...ids].sort();
}

/** What a resolved page writes, as later pages of its run see it (see WrittenThisRun). */
export function writtenByPage(
  page: Pick<ResolvedPage, 'leads' | 'companies'>,
  contacts: RawRecord[],
): { contacts: [string, string | null][]; accounts: string[] } {
  const parents = new Map<string, string | null>();
  for (const raw of contacts) {
    const id = readLookupSafe(() => readKey(raw, 'contactid'));
    if (id) parents.set(id, parentAccountId(raw));
  }
  return {
    contacts: page.leads.map((lead) => [
      lead.dynamics_contact_id,
      parents.get(lead.dynamics_contact_id) ?? null,
    ]),
    accounts: page.companies.map((company) => company.external_company_id),
  };
}

/** Stage 3: the rows to write for one page of opportunities. */
export function resolvePage(input: ResolvePageInput): ResolvedPage {
  const errors = new ErrorList();
  const related = new RelatedRecords(input, errors);
  const opportunities = new Map<string, OpportunityRow>();
  const roles = new Map<string, RoleRow>();
  const skipped = new Set<string>();
  for (const raw of input.opportunities) {
    const id = readLookupSafe(() => readKey(raw, 'opportunityid'));
    if (id && isFilteredOut(raw, input.options)) {
      skipped.add(id);
      continue;
    }
    const mapped = mapOpportunityCore(raw, input.options, input.currencies);
    if (!mapped.ok) {
      errors.add(mapped.error);
      continue;
    }
    const { companyId, primaryRole } = customerOf(mapped.row, related);
    if (primaryRole !== undefined) addRole(roles, primaryRole);
    // The mapped row is this loop's own: it gets its company in place rather than as a copy of every column.
    const row = Object.assign(mapped.row.row, { external_company_id: companyId });
    opportunities.set(row.external_opportunity_id, row);
  }
  const stakeholders = stakeholderRoles(input.connections, opportunities, input.roles, related, errors);
  for (const role of stakeholders.roles) addRole(roles, role);
  const traced = new Map<string, StakeholderConnection>(
    stakeholders.connections.map((connection) => [connection.connection_id, connection]),
  );
  // Every map is keyed by its rows' sort key (roles by opportunity|contact|role): sorting the keys once
  // builds no key per comparison (a page's ten thousand roles took a quarter million string joins).
  return {
    opportunities: valuesByKey(opportunities),
    roles: valuesByKey(roles),
    leads: valuesByKey(related.leads),
    companies: valuesByKey(related.companies),
    skippedIds: [...skipped].sort(),
    errors: errors.sorted(),
    stakeholderConnections: valuesByKey(traced),
  };
}

/** A role, once per key; primary if any of its sources is. `role` is the caller's own new object. */
function addRole(roles: Map<string, RoleRow>, role: RoleRow): void {
  const key = `${role.external_opportunity_id}|${role.dynamics_contact_id}|${role.role}`;
  const existing = roles.get(key);
  if (existing === undefined) roles.set(key, role);
  else if (role.is_primary) existing.is_primary = true;
}

/** The map's values in the order of their keys. */
function valuesByKey<T>(map: Map<string, T>): T[] {
  return [...map.keys()].sort().map((key) => map.get(key) as T);
}
