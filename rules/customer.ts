/**
 * Rule 4, the customer: an opportunity whose customer is an account belongs to that account's company; one
 * whose customer is a contact gets that contact as its primary role ('Potential Customer') and the contact's
 * parent account as its company. The related records a page read are made leads and companies here, once each.
 */
import { readKey, readLookupSafe, syncError } from './fields';
import { mapAccount, mapContact, type OpportunityCore } from './mapping';
import type {
  CompanyRow,
  LeadRow,
  Mapped,
  RawRecord,
  ResolvePageInput,
  RoleRow,
  SyncErrorRow,
  WrittenThisRun,
} from './types';

export const CUSTOMER_ROLE = 'Potential Customer';

/** Errors keyed by entity and record id, first reason kept (the store holds one row per record). */
export class ErrorList {
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

/**
 * The contacts and accounts a page read (and those earlier pages of its run wrote), made leads and companies
 * as opportunities point to them. A missing or unmappable record gives no lead or company and one error.
 */
export class RelatedRecords {
  readonly leads = new Map<string, LeadRow>();
  readonly companies = new Map<string, CompanyRow>();
  private readonly contacts: Map<string, LeadRow | undefined>;
  private readonly accounts: Map<string, CompanyRow | undefined>;
  private readonly written: WrittenThisRun | undefined;

  constructor(
    input: Pick<ResolvePageInput, 'contacts' | 'accounts' | 'written'>,
    private readonly errors: ErrorList,
  ) {
    this.contacts = indexRows(input.contacts, 'contactid', mapContact, errors);
    this.accounts = indexRows(input.accounts, 'accountid', mapAccount, errors);
    this.written = input.written;
  }

  /** A referenced account as a company id; a missing or unmappable account leaves NULL and an error. */
  account(accountId: string, referrer: string): string | null {
    if (!this.accounts.has(accountId) && this.written?.accounts.has(accountId)) return accountId;
    if (!this.accounts.has(accountId)) {
      this.errors.add(
        syncError('account', accountId, `account not returned by Dynamics (${referrer})`, { referrer }),
      );
    }
    const company = this.accounts.get(accountId);
    if (!company) return null;
    this.companies.set(accountId, company);
    return accountId;
  }

  /**
   * A referenced contact as a lead, giving the lead's company; a missing or unmappable contact gives no lead and
   * an error. A contact written earlier in the run keeps its lead; its parent account is resolved as a read
   * contact's would be.
   */
  contact(contactId: string, referrer: string): Pick<LeadRow, 'external_company_id'> | undefined {
    const read = this.contacts.has(contactId);
    // One lookup: undefined when the run has not written the contact, null when it has no parent.
    const rememberedParent = read ? undefined : this.written?.contacts.get(contactId);
    if (rememberedParent !== undefined) {
      return {
        external_company_id:
          rememberedParent && this.account(rememberedParent, `parent of contact ${contactId}`),
      };
    }
    if (!read) {
      this.errors.add(
        syncError('contact', contactId, `contact not returned by Dynamics (${referrer})`, { referrer }),
      );
    }
    // A contact several opportunities point to is made a lead once: its company's errors and row are the same
    // each time (an error keeps its first reason), so the first lead made is the answer.
    const made = this.leads.get(contactId);
    if (made !== undefined) return made;
    const contact = this.contacts.get(contactId);
    if (!contact) return undefined;
    const company = contact.external_company_id;
    const lead = {
      ...contact,
      external_company_id: company && this.account(company, `parent of contact ${contactId}`),
    };
    this.leads.set(contactId, lead);
    return lead;
  }
}

/** Rule 4 for one mapped opportunity: its company, and its primary role when its customer is a contact. */
export function customerOf(
  opportunity: OpportunityCore,
  related: RelatedRecords,
): { companyId: string | null; primaryRole?: RoleRow } {
  const { customer } = opportunity;
  const oppId = opportunity.row.external_opportunity_id;
  const referrer = `customer of opportunity ${oppId}`;
  if (customer?.type === 'account') return { companyId: related.account(customer.id, referrer) };
  if (customer?.type !== 'contact') return { companyId: null };
  const lead = related.contact(customer.id, referrer);
  if (lead === undefined) return { companyId: null };
  return {
    companyId: lead.external_company_id,
    primaryRole: {
      external_opportunity_id: oppId,
      dynamics_contact_id: customer.id,
      role: CUSTOMER_ROLE,
      is_primary: true,
    },
  };
}
