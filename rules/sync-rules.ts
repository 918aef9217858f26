/**
 * The seed's rules (SPEC section 1) over one page of opportunities: which contacts and accounts a
 * page needs, then the rows to write. Pure: no I/O, no clock.
 */
import { connectionOpportunityId, stakeholderLink } from './connections';
import { readKey, readLookup, syncError } from './fields';
import { isFilteredOut, mapAccount, mapContact, mapOpportunityCore } from './mapping';
import type {
  CompanyRow,
  ConnectionRole,
  LeadRow,
  Mapped,
  OpportunityRow,
  RawRecord,
  ResolvedPage,
  ResolvePageInput,
  RoleRow,
  StakeholderConnection,
  SyncErrorRow,
} from './types';

export const CUSTOMER_ROLE = 'Potential Customer';

/** Errors keyed by entity and record id, first reason kept (the store holds one row per record). */
class ErrorList {
  private readonly byKey = new Map<string, SyncErrorRow>();
  add(error: SyncErrorRow): void {
    const key = `${error.entity}|${error.record_id}`;
    if (!this.byKey.has(key)) this.byKey.set(key, error);
  }
  sorted(): SyncErrorRow[] {
    return [...this.byKey.values()].sort(
      (a, b) => compare(a.entity, b.entity) || compare(a.record_id, b.record_id),
    );
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Opportunity ids of the page that will be synced (readable key, not excluded by the filter). */
function syncedOpportunityIds(opportunities: RawRecord[], options: ResolvePageInput['options']): Set<string> {
  const ids = new Set<string>();
  for (const raw of opportunities) {
    const id = readLookupSafe(() => readKey(raw, 'opportunityid'));
    if (id && !isFilteredOut(raw, options)) ids.add(id);
  }
  return ids;
}

function readLookupSafe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
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

/** Raw rows by their normalised key, mapped; unreadable rows become errors. */
function indexRows<T>(
  rows: RawRecord[],
  keyColumn: string,
  map: (raw: RawRecord) => Mapped<T>,
  errors: ErrorList,
): Map<string, T | undefined> {
  const byId = new Map<string, T | undefined>();
  for (const raw of rows) {
    const mapped = map(raw);
    if (mapped.ok) {
      byId.set(readKey(raw, keyColumn), mapped.row);
      continue;
    }
    errors.add(mapped.error);
    // A row that is present but unmappable counts as "not available" for the records that point to it.
    const id = readLookupSafe(() => readKey(raw, keyColumn));
    if (id) byId.set(id, undefined);
  }
  return byId;
}

/** Stage 3: the rows to write for one page of opportunities. */
export function resolvePage(input: ResolvePageInput): ResolvedPage {
  const errors = new ErrorList();
  const contacts = indexRows(input.contacts, 'contactid', mapContact, errors);
  const accounts = indexRows(input.accounts, 'accountid', mapAccount, errors);
  const companies = new Map<string, CompanyRow>();
  const leads = new Map<string, LeadRow>();
  const roles = new Map<string, RoleRow>();
  const opportunities = new Map<string, OpportunityRow>();
  const skipped = new Set<string>();

  const written = input.written;

  /** A referenced account as a company id; a missing or unmappable account leaves NULL and an error. */
  const useAccount = (accountId: string, referrer: string): string | null => {
    if (!accounts.has(accountId) && written?.accounts.has(accountId)) return accountId;
    if (!accounts.has(accountId)) {
      errors.add(
        syncError('account', accountId, `account not returned by Dynamics (${referrer})`, { referrer }),
      );
    }
    const company = accounts.get(accountId);
    if (!company) return null;
    companies.set(accountId, company);
    return accountId;
  };

  /**
   * A referenced contact as a lead, giving the lead's company; a missing or unmappable contact gives no lead and
   * an error. A contact written earlier in the run keeps its lead; its parent account is resolved as a read
   * contact's would be.
   */
  const useContact = (
    contactId: string,
    referrer: string,
  ): Pick<LeadRow, 'external_company_id'> | undefined => {
    const read = contacts.has(contactId);
    // One lookup: undefined when the run has not written the contact, null when it has no parent.
    const rememberedParent = read ? undefined : written?.contacts.get(contactId);
    if (rememberedParent !== undefined) {
      return {
        external_company_id:
          rememberedParent && useAccount(rememberedParent, `parent of contact ${contactId}`),
      };
    }
    if (!read) {
      errors.add(
        syncError('contact', contactId, `contact not returned by Dynamics (${referrer})`, { referrer }),
      );
    }
    // A contact several opportunities point to is made a lead once: its company's errors and row are the same
    // each time (an error keeps its first reason), so the first lead made is the answer.
    const made = leads.get(contactId);
    if (made !== undefined) return made;
    const contact = contacts.get(contactId);
    if (!contact) return undefined;
    const company = contact.external_company_id;
    const lead = {
      ...contact,
      external_company_id: company && useAccount(company, `parent of contact ${contactId}`),
    };
    leads.set(contactId, lead);
    return lead;
  };

  /** A role, once per key; primary if any of its sources is. `role` is the caller's own new object. */
  const addRole = (role: RoleRow): void => {
    const key = `${role.external_opportunity_id}|${role.dynamics_contact_id}|${role.role}`;
    const existing = roles.get(key);
    if (existing === undefined) roles.set(key, role);
    else if (role.is_primary) existing.is_primary = true;
  };

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
    const { row, customer } = mapped.row;
    const oppId = row.external_opportunity_id;
    let companyId: string | null = null;
    if (customer?.type === 'account') companyId = useAccount(customer.id, `customer of opportunity ${oppId}`);
    if (customer?.type === 'contact') {
      const lead = useContact(customer.id, `customer of opportunity ${oppId}`);
      if (lead) {
        addRole({
          external_opportunity_id: oppId,
          dynamics_contact_id: customer.id,
          role: CUSTOMER_ROLE,
          is_primary: true,
        });
        companyId = lead.external_company_id;
      }
    }
    // The mapped row is this loop's own: it gets its company in place rather than as a copy of every column.
    opportunities.set(oppId, Object.assign(row, { external_company_id: companyId }));
  }

  const stakeholderConnections = new Map<string, StakeholderConnection>();
  for (const raw of input.connections) {
    // Only rows whose record1 is a synced opportunity of this page count: the reciprocal row
    // (record1 = the contact) describes the same connection a second time.
    const oppId = connectionOpportunityId(raw);
    if (!oppId || !opportunities.has(oppId)) continue;
    const link = stakeholderLink(raw, input.roles);
    if (!link) continue;
    if (!('contactId' in link)) {
      errors.add(link);
      continue;
    }
    if (!useContact(link.contactId, `stakeholder of opportunity ${oppId}`)) continue;
    addRole({
      external_opportunity_id: oppId,
      dynamics_contact_id: link.contactId,
      role: link.role,
      is_primary: false,
    });
    stakeholderConnections.set(link.connectionId, {
      connection_id: link.connectionId,
      external_opportunity_id: oppId,
    });
  }

  // Every map is keyed by its rows' sort key (roles by opportunity|contact|role): sorting the keys once
  // builds no key per comparison (a page's ten thousand roles took a quarter million string joins).
  return {
    opportunities: valuesByKey(opportunities),
    roles: valuesByKey(roles),
    leads: valuesByKey(leads),
    companies: valuesByKey(companies),
    skippedIds: [...skipped].sort(),
    errors: errors.sorted(),
    stakeholderConnections: valuesByKey(stakeholderConnections),
  };
}

/** The map's values in the order of their keys. */
function valuesByKey<T>(map: Map<string, T>): T[] {
  return [...map.keys()].sort().map((key) => map.get(key) as T);
}
