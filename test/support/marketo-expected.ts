/**
 * What Marketo should hold after a run (SPEC section 7), computed from the store the rules foretold, and what
 * the Marketo emulator does hold, both in one comparable form: records without Marketo's own ids, roles
 * naming their lead by its lookup value. Written apart from the product's push, so each checks the other.
 */
import type { MarketoEmulator } from '@oppsync/marketo-emulator';
import type { MarketoStore, StoreSnapshot } from '../../store';

type Row = Record<string, unknown>;
export interface MarketoContent {
  companies: Row[];
  leads: Row[];
  opportunities: Row[];
  roles: Row[];
}

const OPPORTUNITY_FIELDS = [
  'externalOpportunityId',
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
];

const pick = (record: Row, fields: readonly string[]): Row =>
  Object.fromEntries(fields.map((field) => [field, normal(record[field])]));
// Marketo's examples send money as text: compare numbers as numbers, a missing value as null.
const normal = (value: unknown): unknown =>
  value === undefined || value === ''
    ? null
    : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)
      ? Number(value)
      : value;
const sorted = (rows: Row[]): Row[] =>
  rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

function leadFields(lookupField: string): string[] {
  return [
    ...(lookupField === 'email' ? [] : [lookupField]),
    'email',
    'firstName',
    'lastName',
    'externalCompanyId',
  ];
}

/** Standard opportunity fields the instance does not describe (the push leaves them out). */
export interface ContentOptions {
  omitOpportunityFields?: readonly string[];
}

const opportunityFields = (options: ContentOptions): string[] =>
  OPPORTUNITY_FIELDS.filter((field) => !(options.omitOpportunityFields ?? []).includes(field));

/** Marketo's documented length of an opportunity's description: longer text is cut, as the push cuts it. */
const DESCRIPTION_LENGTH = 2000;

/** The first `max` UTF-16 code units, one fewer where the cut would split a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

export function marketoContent(
  marketo: MarketoEmulator,
  lookupField: string,
  options: ContentOptions = {},
): MarketoContent {
  const leads = marketo.data.leads();
  const lookupOf = new Map(leads.map((lead) => [Number(lead.id), lead[lookupField]]));
  return {
    companies: sorted(
      marketo.data.companies().map((c) => pick(c, ['externalCompanyId', 'company', 'website', 'industry'])),
    ),
    leads: sorted(leads.map((lead) => pick(lead, leadFields(lookupField)))),
    opportunities: sorted(marketo.data.opportunities().map((o) => pick(o, opportunityFields(options)))),
    roles: sorted(
      marketo.data.roles().map((r) => ({
        externalOpportunityId: r.externalOpportunityId,
        lead: lookupOf.get(Number(r.leadId)) ?? `unknown lead ${String(r.leadId)}`,
        role: r.role,
        isPrimary: r.isPrimary,
      })),
    ),
  };
}

/**
 * Marketo's content from the store's: every company; a lead per contact (custom lookup field) or per email,
 * with the values of the contact the store updated last (contacts without email are not sent); every live
 * opportunity with its base-currency amount; every role of a live opportunity whose contact has a lead.
 */
export async function expectedMarketo(
  snapshot: StoreSnapshot,
  store: MarketoStore,
  lookupField: string,
  options: ContentOptions = {},
): Promise<MarketoContent> {
  const updatedAt = new Map(
    (await store.knex<Row>('leads').select('dynamics_contact_id', 'updated_at')).map((r) => [
      String(r.dynamics_contact_id),
      String(r.updated_at),
    ]),
  );
  const byEmail = lookupField === 'email';
  // Marketo takes emails in ASCII only: a contact with another one is refused (a sync error) and its roles wait.
  const sendable = (lead: StoreSnapshot['leads'][number]): boolean =>
    lead.email === null || !/[^ -~]/.test(lead.email);
  const lookupOf = (lead: StoreSnapshot['leads'][number]): string | null =>
    !sendable(lead)
      ? null
      : byEmail
        ? lead.email === null || lead.email === ''
          ? null
          : lead.email
        : lead.dynamics_contact_id;
  const chosen = new Map<string, StoreSnapshot['leads'][number]>();
  for (const lead of snapshot.leads) {
    const key = lookupOf(lead);
    if (key === null) continue;
    const held = chosen.get(key);
    const newer =
      held === undefined ||
      (updatedAt.get(lead.dynamics_contact_id) ?? '') > (updatedAt.get(held.dynamics_contact_id) ?? '') ||
      ((updatedAt.get(lead.dynamics_contact_id) ?? '') === (updatedAt.get(held.dynamics_contact_id) ?? '') &&
        lead.dynamics_contact_id > held.dynamics_contact_id);
    if (newer) chosen.set(key, lead);
  }
  const contactLookup = new Map(snapshot.leads.map((lead) => [lead.dynamics_contact_id, lookupOf(lead)]));
  const live = snapshot.opportunities.filter((o) => !o.is_deleted);
  const liveIds = new Set(live.map((o) => o.external_opportunity_id));
  const roles = new Map<string, Row>();
  for (const role of snapshot.roles) {
    const lead = contactLookup.get(role.dynamics_contact_id);
    if (!liveIds.has(role.external_opportunity_id) || lead === null || lead === undefined) continue;
    const key = `${role.external_opportunity_id}|${lead}|${role.role}`;
    const isPrimary = role.is_primary || roles.get(key)?.isPrimary === true;
    roles.set(key, { externalOpportunityId: role.external_opportunity_id, lead, role: role.role, isPrimary });
  }
  return {
    companies: sorted(
      snapshot.companies.map((c) =>
        pick(
          {
            externalCompanyId: c.external_company_id,
            company: c.company,
            website: c.website,
            industry: c.industry,
          },
          ['externalCompanyId', 'company', 'website', 'industry'],
        ),
      ),
    ),
    leads: sorted(
      [...chosen.values()].map((lead) =>
        pick(
          {
            ...(byEmail ? {} : { [lookupField]: lead.dynamics_contact_id }),
            email: lead.email,
            firstName: lead.first_name,
            lastName: lead.last_name,
            externalCompanyId: lead.external_company_id,
          },
          leadFields(lookupField),
        ),
      ),
    ),
    opportunities: sorted(
      live.map((o) =>
        pick(
          {
            externalOpportunityId: o.external_opportunity_id,
            name: o.name,
            description: o.description === null ? null : cut(o.description, DESCRIPTION_LENGTH),
            amount: o.amount_base,
            closeDate: o.close_date,
            stage: o.stage,
            isClosed: o.is_closed,
            isWon: o.is_won,
            probability: o.probability,
            externalCompanyId: o.external_company_id,
            externalCreatedDate: o.external_created_date,
          },
          opportunityFields(options),
        ),
      ),
    ),
    roles: sorted([...roles.values()]),
  };
}

/** The emulator's content equals what the store foretells, object by object. */
export async function expectExactMarketo(
  marketo: MarketoEmulator,
  snapshot: StoreSnapshot,
  store: MarketoStore,
  lookupField: string,
  options: ContentOptions = {},
): Promise<void> {
  const expected = await expectedMarketo(snapshot, store, lookupField, options);
  const actual = marketoContent(marketo, lookupField, options);
  expect(actual.companies).toEqual(expected.companies);
  expect(actual.leads).toEqual(expected.leads);
  expect(actual.opportunities).toEqual(expected.opportunities);
  expect(actual.roles).toEqual(expected.roles);
}
