import type { RawRecord } from '../dynamics';

export type { RawRecord };

export interface RuleOptions {
  /** SYNC_OPPORTUNITY_FIELDS: extra opportunity columns copied into custom_fields. */
  customFields: string[];
  /** SYNC_FILTER_ATTRIBUTE: a Two Options column; an opportunity where it is exactly false is skipped. */
  filterAttribute?: string;
}

/**
 * The organisation's transaction currencies: normalised transactioncurrencyid → ISO code (isocurrencycode). Read
 * once a run and given to the rules, which stay pure.
 */
export type Currencies = ReadonlyMap<string, string>;

export interface ConnectionRole {
  id: string;
  name: string;
  category: number;
}

export interface CompanyRow {
  external_company_id: string;
  company: string | null;
  website: string | null;
  industry: string | null;
}

export interface LeadRow {
  dynamics_contact_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  external_company_id: string | null;
}

export interface OpportunityRow {
  external_opportunity_id: string;
  name: string | null;
  external_company_id: string | null;
  description: string | null;
  amount: number | null;
  actual_amount: number | null;
  /** ISO code of the opportunity's transaction currency; null when it has none. */
  currency: string | null;
  /** estimatedvalue_base / actualvalue_base: in the organisation's base currency, as Dataverse computed them. */
  amount_base: number | null;
  actual_amount_base: number | null;
  close_date: string | null;
  actual_close_date: string | null;
  stage: string | null;
  sales_stage: string | null;
  pipeline_phase: string | null;
  probability: number | null;
  status: string | null;
  is_closed: boolean;
  is_won: boolean;
  /** JSON object text, keys sorted. */
  custom_fields: string;
  external_created_date: string | null;
  last_modified_at: string | null;
}

export interface RoleRow {
  external_opportunity_id: string;
  dynamics_contact_id: string;
  role: string;
  is_primary: boolean;
}

export type SyncErrorEntity =
  | 'opportunity'
  | 'contact'
  | 'account'
  | 'connection'
  /** A record Marketo skipped, or that the push cannot send (SPEC section 7). */
  | 'marketo:company'
  | 'marketo:lead'
  | 'marketo:opportunity'
  | 'marketo:role';

export interface SyncErrorRow {
  entity: SyncErrorEntity;
  record_id: string;
  error: string;
  /** The offending raw record (or a small context object) as JSON, truncated. */
  payload: string;
}

/** A connection that produced a stakeholder role, so a later delete (id only) can be traced back. */
export interface StakeholderConnection {
  connection_id: string;
  external_opportunity_id: string;
}

/** Result of mapping one raw record: the row, or the reason it could not be mapped. */
export type Mapped<T> = { ok: true; row: T } | { ok: false; error: SyncErrorRow };

export interface ResolvedPage {
  /** Mapped opportunities to upsert. */
  opportunities: OpportunityRow[];
  /** The COMPLETE role set of every opportunity in `opportunities` (the writer replaces theirs with it). */
  roles: RoleRow[];
  /** Every contact some role points to (deduplicated). */
  leads: LeadRow[];
  /** Every account some opportunity or lead points to (deduplicated). */
  companies: CompanyRow[];
  /** Opportunities the sync filter excludes (filter attribute explicitly false): left as they are. */
  skippedIds: string[];
  /** Records that could not be mapped; the rest of the page still resolves. */
  errors: SyncErrorRow[];
  /** Connections that produced a role in `roles`. */
  stakeholderConnections: StakeholderConnection[];
}

export interface ResolvePageInput {
  opportunities: RawRecord[];
  connections: RawRecord[];
  contacts: RawRecord[];
  accounts: RawRecord[];
  roles: Map<string, ConnectionRole>;
  currencies: Currencies;
  options: RuleOptions;
  /** Contacts and accounts earlier pages of the same run wrote: pointed to, not read or written again. */
  written?: WrittenThisRun;
}

/**
 * What a run has already written: each lead's contact with the account parent it was read with (null: none),
 * and each company's account. A page resolves a reference to one of them as that page would have, had it read
 * the same row again, but leaves it out of its own leads and companies.
 */
export interface WrittenThisRun {
  /** The parent account id a written contact was read with (null: none); undefined when not written. */
  contacts: { get(contactId: string): string | null | undefined };
  accounts: { has(accountId: string): boolean };
}
