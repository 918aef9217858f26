import {
  ACCOUNTS,
  ALL_ANNOTATIONS,
  CONNECTIONS,
  CONNECTION_ROLE_COLUMNS,
  CONTACTS,
  CURRENCY_COLUMNS,
  opportunityTable,
  type DynamicsClient,
  type TableSpec,
} from '../../dynamics';
import { mapAccount, mapContact, type RoleRow, type RuleOptions } from '../../rules';
import type { StoreSnapshot } from '../../store';
import { duplicateKeys } from './faults';
import { expectedStore, type OrganisationData } from './oracle';

/**
 * The whole organisation as the Web API serves it, with the columns the sync asks for: the input of the rules'
 * expected result. Annotations as the sync asks for them (a quarantined record's payload is the row as the sync
 * read it), or with `everyRuleAnnotation` all that any rule reads, for checking that asking for less loses nothing.
 */
export async function readOrganisation(
  client: DynamicsClient,
  options: RuleOptions,
  everyRuleAnnotation = false,
): Promise<OrganisationData> {
  const opportunities = opportunityTable(options.customFields, options.filterAttribute);
  const read = (table: TableSpec) =>
    client.getAll(table.entitySet, [...table.select], {
      annotations: everyRuleAnnotation ? ALL_ANNOTATIONS : table.annotations,
    });
  return {
    opportunities: await read(opportunities),
    connections: await read(CONNECTIONS),
    contacts: await read(CONTACTS),
    accounts: await read(ACCOUNTS),
    connectionRoles: await client.getAll('connectionroles', CONNECTION_ROLE_COLUMNS),
    currencies: await client.getAll('transactioncurrencies', CURRENCY_COLUMNS),
  };
}

/** What the rules make of an organisation, quarantined payloads aside. */
function ruleOutcome(org: OrganisationData, options: RuleOptions) {
  const result = expectedStore(org, options);
  return { ...result, errors: result.errors.map(({ payload: _payload, ...rest }) => rest) };
}

const byKey =
  <T>(key: (row: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
const roleKey = (r: RoleRow): string => `${r.external_opportunity_id}|${r.dynamics_contact_id}|${r.role}`;

/** Both sides sorted the same way, so tables compare row for row. */
export function sortSnapshot(snapshot: StoreSnapshot): StoreSnapshot {
  return {
    opportunities: [...snapshot.opportunities].sort(byKey((r) => r.external_opportunity_id)),
    roles: [...snapshot.roles].sort(byKey(roleKey)),
    leads: [...snapshot.leads].sort(byKey((r) => r.dynamics_contact_id)),
    companies: [...snapshot.companies].sort(byKey((r) => r.external_company_id)),
    syncErrors: [...snapshot.syncErrors].sort(byKey((r) => `${r.entity}|${r.record_id}`)),
  };
}

/**
 * What the store must hold after each completed run, from the rules over the organisation as it is now, plus
 * the store's memory that the rules alone cannot know: a deleted opportunity keeps its row (is_deleted), one the
 * sync filter switched off keeps its last synced row, and leads and companies once written stay (refreshed
 * with their current Dynamics data) because Marketo keeps people and companies.
 */
export class ExpectedStore {
  private previous: StoreSnapshot = {
    opportunities: [],
    roles: [],
    leads: [],
    companies: [],
    syncErrors: [],
  };
  private readonly everContacts = new Set<string>();
  private readonly everAccounts = new Set<string>();

  constructor(private readonly options: RuleOptions) {}

  next(org: OrganisationData): StoreSnapshot {
    const rules = expectedStore(org, this.options);
    const present = new Set(org.opportunities.map((o) => String(o.opportunityid).toLowerCase()));
    const skipped = new Set(rules.skippedIds);
    const previousById = new Map(this.previous.opportunities.map((o) => [o.external_opportunity_id, o]));

    const opportunities: StoreSnapshot['opportunities'] = rules.opportunities.map((o) => ({
      ...o,
      is_deleted: false,
    }));
    const roles: RoleRow[] = [...rules.roles];
    for (const id of skipped) {
      const kept = previousById.get(id);
      if (kept === undefined) continue;
      opportunities.push(kept);
      roles.push(...this.previous.roles.filter((r) => r.external_opportunity_id === id));
    }
    for (const old of this.previous.opportunities) {
      if (!present.has(old.external_opportunity_id)) opportunities.push({ ...old, is_deleted: true });
    }

    for (const lead of rules.leads) this.everContacts.add(lead.dynamics_contact_id);
    for (const role of roles) this.everContacts.add(role.dynamics_contact_id);
    const leads = org.contacts.flatMap((raw) => {
      const mapped = mapContact(raw);
      return mapped.ok && this.everContacts.has(mapped.row.dynamics_contact_id) ? [mapped.row] : [];
    });
    for (const company of rules.companies) this.everAccounts.add(company.external_company_id);
    for (const lead of leads)
      if (lead.external_company_id !== null) this.everAccounts.add(lead.external_company_id);
    for (const o of opportunities)
      if (o.external_company_id !== null) this.everAccounts.add(o.external_company_id);
    const companies = org.accounts.flatMap((raw) => {
      const mapped = mapAccount(raw);
      return mapped.ok && this.everAccounts.has(mapped.row.external_company_id) ? [mapped.row] : [];
    });

    this.previous = sortSnapshot({ opportunities, roles, leads, companies, syncErrors: rules.errors });
    return this.previous;
  }
}

/** Asserts the whole store equals the rules' result over the organisation as it is now, with no duplicate keys. */
/**
 * The store as the rules of SPEC section 1 see it: sync errors of the Marketo push (entity `marketo:…`, SPEC
 * section 7) are Marketo's answers, which the push's own tests check.
 */
export function withoutPushErrors(snapshot: StoreSnapshot): StoreSnapshot {
  return { ...snapshot, syncErrors: snapshot.syncErrors.filter((e) => !e.entity.startsWith('marketo:')) };
}

export async function expectExactStore(
  h: { dynamicsClient(): DynamicsClient },
  marketo: { snapshot(): Promise<StoreSnapshot> },
  expected: ExpectedStore,
  options: RuleOptions,
): Promise<void> {
  const actual = sortSnapshot(await marketo.snapshot());
  expect(duplicateKeys(actual)).toEqual([]);
  expect(withoutPushErrors(actual)).toEqual(
    expected.next(await readOrganisation(h.dynamicsClient(), options)),
  );
}

/**
 * Runs one sync through the harness and asserts the whole store equals the rules' result, with no duplicate
 * keys; returns the run's outcome and the store as read.
 */
export async function syncAndExpectExactStore<O extends { error?: string; summary: { status: string } }>(
  h: { sync(full?: boolean): Promise<O>; dynamicsClient(): DynamicsClient },
  marketo: { snapshot(): Promise<StoreSnapshot> },
  expected: ExpectedStore,
  options: RuleOptions,
  full = false,
  /** Called right after the run, before the organisation is read for the comparison. */
  afterSync: (outcome: O) => void = () => undefined,
): Promise<{ outcome: O; snapshot: StoreSnapshot }> {
  const outcome = await h.sync(full);
  afterSync(outcome);
  expect(outcome.error).toBeUndefined();
  expect(outcome.summary.status).toBe('COMPLETED');
  const actual = sortSnapshot(await marketo.snapshot());
  expect(duplicateKeys(actual)).toEqual([]);
  const org = await readOrganisation(h.dynamicsClient(), options);
  expect(withoutPushErrors(actual)).toEqual(expected.next(org));
  // The sync reads each table with only the annotations its rules use: with all of them, the same result.
  const everyAnnotation = await readOrganisation(h.dynamicsClient(), options, true);
  expect(ruleOutcome(org, options)).toEqual(ruleOutcome(everyAnnotation, options));
  return { outcome, snapshot: actual };
}
