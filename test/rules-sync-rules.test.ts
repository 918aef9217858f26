import {
  hasUnknownCurrency,
  mapAccount,
  mapContact,
  opportunityIdsOfConnection,
  parentAccountIds,
  parseConnectionRoles,
  parseCurrencies,
  referencedIds,
  resolvePage,
  writtenByPage,
  type CompanyRow,
  type LeadRow,
  type OpportunityRow,
  type RawRecord,
  type RoleRow,
  type RuleOptions,
  type WrittenThisRun,
} from '../rules';
import { expectedStore } from './support/oracle';
import {
  FORMATTED,
  LOOKUP,
  ROLE,
  account,
  connection,
  connectionRoleRows,
  contact,
  CURRENCY,
  currenciesMap,
  currencyRows,
  guid,
  opportunity,
  reciprocal,
  rolesMap,
} from './rules-fixtures';

const OPP = guid(1, 'b0b00000');
const OPP2 = guid(2, 'b0b00000');
const ACC = guid(1, 'acc00000');
const ACC2 = guid(2, 'acc00000');
const CON = guid(1, 'c0c00000');
const CON2 = guid(2, 'c0c00000');
const CON3 = guid(3, 'c0c00000');
const USER = guid(1, 'eeee0000');

function resolve(
  page: {
    opportunities: RawRecord[];
    connections?: RawRecord[];
    contacts?: RawRecord[];
    accounts?: RawRecord[];
    written?: WrittenThisRun;
  },
  options: RuleOptions = { customFields: [] },
) {
  return resolvePage({
    opportunities: page.opportunities,
    connections: page.connections ?? [],
    contacts: page.contacts ?? [],
    accounts: page.accounts ?? [],
    roles: rolesMap(),
    currencies: currenciesMap(),
    options,
    ...(page.written !== undefined ? { written: page.written } : {}),
  });
}

describe('customer (rule 4)', () => {
  it('a contact customer with an account parent gives a primary Potential Customer role and that account as company', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON, { id: ACC, type: 'account' })],
      accounts: [account(ACC)],
    });
    expect(page.opportunities[0]?.external_company_id).toBe(ACC);
    expect(page.roles).toEqual([
      {
        external_opportunity_id: OPP,
        dynamics_contact_id: CON,
        role: 'Potential Customer',
        is_primary: true,
      },
    ]);
    expect(page.leads).toEqual([
      {
        dynamics_contact_id: CON,
        email: `c${CON.slice(-4)}@example.com`,
        first_name: 'Ada',
        last_name: `Lovelace ${CON.slice(-4)}`,
        external_company_id: ACC,
      },
    ]);
    expect(page.companies.map((c) => c.external_company_id)).toEqual([ACC]);
    expect(page.errors).toEqual([]);
  });

  it('a contact customer whose parent is another contact leaves the company empty', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON, { id: CON2, type: 'contact' })],
    });
    expect(page.opportunities[0]?.external_company_id).toBeNull();
    expect(page.leads[0]?.external_company_id).toBeNull();
    expect(page.roles).toHaveLength(1);
    expect(page.companies).toEqual([]);
    expect(page.errors).toEqual([]);
  });

  it('a contact customer without a parent leaves the company empty', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON)],
    });
    expect(page.opportunities[0]?.external_company_id).toBeNull();
    expect(page.roles.map((r) => r.role)).toEqual(['Potential Customer']);
    expect(page.errors).toEqual([]);
  });

  it('an account customer becomes the company and creates no role', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: ACC, type: 'account' })],
      accounts: [account(ACC)],
    });
    expect(page.opportunities[0]?.external_company_id).toBe(ACC);
    expect(page.roles).toEqual([]);
    expect(page.leads).toEqual([]);
    expect(page.companies).toEqual([
      {
        external_company_id: ACC,
        company: `Account ${ACC.slice(-4)}`,
        website: `https://a${ACC.slice(-4)}.example.com`,
        industry: 'Consulting',
      },
    ]);
  });

  it('reads customerid only, never the form lookups, when both form lookups are set', () => {
    const opp = opportunity(
      OPP,
      { id: ACC, type: 'account' },
      { _parentaccountid_value: ACC2, _parentcontactid_value: CON },
    );
    const page = resolve({
      opportunities: [opp],
      contacts: [contact(CON)],
      accounts: [account(ACC), account(ACC2)],
    });
    expect(page.opportunities[0]?.external_company_id).toBe(ACC);
    expect(page.roles).toEqual([]);
    expect(page.leads).toEqual([]);
    expect(page.companies.map((c) => c.external_company_id)).toEqual([ACC]);
  });

  it('a customer contact Dynamics did not return gives no role, no company, and a contact error; the opportunity still syncs', () => {
    const page = resolve({ opportunities: [opportunity(OPP, { id: CON, type: 'contact' })] });
    expect(page.opportunities.map((o) => [o.external_opportunity_id, o.external_company_id])).toEqual([
      [OPP, null],
    ]);
    expect(page.roles).toEqual([]);
    expect(page.errors.map((e) => [e.entity, e.record_id])).toEqual([['contact', CON]]);
  });

  it("a contact's parent account Dynamics did not return leaves lead and opportunity without company and records it", () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON, { id: ACC, type: 'account' })],
    });
    expect(page.opportunities[0]?.external_company_id).toBeNull();
    expect(page.leads[0]?.external_company_id).toBeNull();
    expect(page.errors.map((e) => [e.entity, e.record_id])).toEqual([['account', ACC]]);
  });
});

describe('stakeholders (rule 5)', () => {
  const customer = { id: ACC, type: 'account' };

  it('every active connection to a contact with a Stakeholder-category role gives a non-primary role', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, customer)],
      accounts: [account(ACC), account(ACC2)],
      contacts: [contact(CON), contact(CON2, { id: ACC2, type: 'account' })],
      connections: [
        connection(guid(1, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.decisionMaker),
        connection(guid(2, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.champion),
        connection(guid(3, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.stakeholder),
      ],
    });
    expect(page.roles).toEqual([
      { external_opportunity_id: OPP, dynamics_contact_id: CON, role: 'Decision Maker', is_primary: false },
      { external_opportunity_id: OPP, dynamics_contact_id: CON2, role: 'Champion', is_primary: false },
      { external_opportunity_id: OPP, dynamics_contact_id: CON2, role: 'Stakeholder', is_primary: false },
    ]);
    // The stakeholder's own account is a company too: companies hold every account a lead points to.
    expect(page.companies.map((c) => c.external_company_id)).toEqual([ACC, ACC2].sort());
    expect(page.leads.map((l) => l.dynamics_contact_id)).toEqual([CON, CON2]);
    expect(page.stakeholderConnections.map((c) => c.connection_id)).toEqual(
      [1, 2, 3].map((n) => guid(n, 'cccc0000')),
    );
  });

  it('Sales Team and other roles, accounts, users, inactive connections and reciprocal rows give no role', () => {
    const active = connection(guid(9, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.champion);
    const page = resolve({
      opportunities: [opportunity(OPP, customer)],
      accounts: [account(ACC), account(ACC2)],
      contacts: [contact(CON), contact(CON2)],
      connections: [
        connection(guid(1, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.salesTeam),
        connection(guid(2, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.business),
        connection(guid(3, 'cccc0000'), OPP, { id: ACC2, type: 'account' }, ROLE.stakeholder),
        connection(guid(4, 'cccc0000'), OPP, { id: USER, type: 'systemuser' }, ROLE.stakeholder),
        connection(guid(5, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.stakeholder, {
          statecode: 1,
        }),
        connection(
          guid(6, 'cccc0000'),
          OPP,
          { id: CON2, type: 'contact' },
          { ...ROLE.stakeholder, id: guid(77) },
        ),
        active,
        // The reciprocal of a stakeholder connection carries the contact as record1: never counted.
        reciprocal(
          connection(guid(7, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.stakeholder),
          guid(8, 'cccc0000'),
        ),
      ],
    });
    expect(page.roles).toEqual([
      { external_opportunity_id: OPP, dynamics_contact_id: CON, role: 'Champion', is_primary: false },
    ]);
    expect(page.leads.map((l) => l.dynamics_contact_id)).toEqual([CON]);
    expect(page.companies.map((c) => c.external_company_id)).toEqual([ACC]);
    expect(page.errors).toEqual([]);
  });

  it('a reciprocal row whose record2 role is a stakeholder role is not counted even with only the objecttypecode', () => {
    const row = connection(guid(1, 'cccc0000'), CON, { id: OPP, type: 'contact' }, ROLE.stakeholder);
    // record1 is a contact (objecttypecode 2), no annotations: not an opportunity row.
    delete row[`_record1id_value${LOOKUP}`];
    delete row[`_record2id_value${LOOKUP}`];
    row.record1objecttypecode = 2;
    row.record2objecttypecode = 3;
    const page = resolve({ opportunities: [opportunity(OPP)], contacts: [contact(CON)], connections: [row] });
    expect(page.roles).toEqual([]);
  });

  it('a record2 contact is recognised from record2objecttypecode when the annotation is absent', () => {
    const row = connection(guid(1, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.stakeholder);
    delete row[`_record2id_value${LOOKUP}`];
    const page = resolve({ opportunities: [opportunity(OPP)], contacts: [contact(CON)], connections: [row] });
    expect(page.roles.map((r) => r.role)).toEqual(['Stakeholder']);
  });

  it('the same contact can be the primary customer and a stakeholder at once', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON)],
      connections: [connection(guid(1, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.decisionMaker)],
    });
    expect(page.roles).toEqual([
      { external_opportunity_id: OPP, dynamics_contact_id: CON, role: 'Decision Maker', is_primary: false },
      {
        external_opportunity_id: OPP,
        dynamics_contact_id: CON,
        role: 'Potential Customer',
        is_primary: true,
      },
    ]);
    expect(page.leads).toHaveLength(1);
  });

  it('duplicate connections (same opportunity, contact and role) collapse into one role', () => {
    const page = resolve({
      opportunities: [opportunity(OPP)],
      contacts: [contact(CON)],
      connections: [
        connection(guid(1, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.champion),
        connection(guid(2, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.champion),
        connection(guid(1, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.champion),
      ],
    });
    expect(page.roles).toEqual([
      { external_opportunity_id: OPP, dynamics_contact_id: CON, role: 'Champion', is_primary: false },
    ]);
    expect(page.stakeholderConnections).toHaveLength(2);
  });

  it('connections of opportunities outside the page give nothing', () => {
    const page = resolve({
      opportunities: [opportunity(OPP)],
      contacts: [contact(CON)],
      connections: [connection(guid(1, 'cccc0000'), OPP2, { id: CON, type: 'contact' }, ROLE.champion)],
    });
    expect(page.roles).toEqual([]);
    expect(page.leads).toEqual([]);
  });
});

describe('labels and mapping (SPEC section 3)', () => {
  const mapOne = (extra: RawRecord, options: RuleOptions = { customFields: [] }) => {
    const page = resolve({ opportunities: [opportunity(OPP, undefined, extra)] }, options);
    expect(page.errors).toEqual([]);
    const row = page.opportunities[0];
    if (!row) throw new Error('opportunity not mapped');
    return row;
  };

  it.each([
    [0, 'Open', false, false],
    [1, 'Won', true, true],
    [2, 'Lost', true, false],
  ])('statecode %d is stage %s (closed %s, won %s)', (statecode, stage, isClosed, isWon) => {
    const row = mapOne({ statecode, [`statecode${FORMATTED}`]: 'Ouvert' });
    expect([row.stage, row.is_closed, row.is_won]).toEqual([stage, isClosed, isWon]);
  });

  it.each([
    [1, 'In Progress'],
    [2, 'On Hold'],
    [3, 'Won'],
    [4, 'Canceled'],
    [5, 'Out-Sold'],
  ])('statuscode %d is status %s whatever the localised label says', (statuscode, status) => {
    expect(mapOne({ statuscode, [`statuscode${FORMATTED}`]: 'Étiquette' }).status).toBe(status);
  });

  it.each([
    [0, 'Qualify'],
    [1, 'Develop'],
    [2, 'Propose'],
    [3, 'Close'],
  ])('salesstage %d is sales stage %s', (salesstage, label) => {
    expect(mapOne({ salesstage }).sales_stage).toBe(label);
  });

  it('an unknown option code takes its FormattedValue, else the number as text', () => {
    expect(mapOne({ statuscode: 100000001, [`statuscode${FORMATTED}`]: 'Negotiating' }).status).toBe(
      'Negotiating',
    );
    expect(mapOne({ statuscode: 100000001 }).status).toBe('100000001');
    expect(mapOne({ salesstage: null }).sales_stage).toBeNull();
  });

  it('maps the core columns, date-only close dates and UTC timestamps', () => {
    const row = mapOne({
      name: 'Big deal',
      estimatedvalue: 1234.5,
      actualvalue: 1000,
      estimatedclosedate: '2024-03-31T00:00:00Z',
      actualclosedate: '2024-04-02',
      closeprobability: 80,
      stepname: '3-Propose',
      createdon: '2024-01-01T10:00:00.000Z',
      modifiedon: '2024-02-01T12:30:00+01:00',
    });
    expect(row).toMatchObject({
      name: 'Big deal',
      amount: 1234.5,
      actual_amount: 1000,
      close_date: '2024-03-31',
      actual_close_date: '2024-04-02',
      probability: 80,
      pipeline_phase: '3-Propose',
      external_created_date: '2024-01-01T10:00:00Z',
      last_modified_at: '2024-02-01T11:30:00Z',
      custom_fields: '{}',
    });
  });

  it('GUIDs with braces and upper case are stored lower-case without braces', () => {
    const upper = `{${OPP.toUpperCase()}}`;
    const page = resolve({
      opportunities: [opportunity(upper, { id: ACC.toUpperCase(), type: 'account' })],
      accounts: [account(`{${ACC.toUpperCase()}}`)],
    });
    expect(page.opportunities.map((o) => [o.external_opportunity_id, o.external_company_id])).toEqual([
      [OPP, ACC],
    ]);
    expect(page.companies.map((c) => c.external_company_id)).toEqual([ACC]);
  });

  it('custom fields hold the selected columns with sorted keys, lookups as GUIDs and missing ones as null', () => {
    const row = mapOne(
      { new_region: 'EMEA', new_synctomkto: true, _new_partnerid_value: ACC.toUpperCase(), new_score: 7 },
      { customFields: ['new_synctomkto', 'new_region', 'new_partnerid', 'new_absent', 'new_score'] },
    );
    expect(row.custom_fields).toBe(
      JSON.stringify({
        new_absent: null,
        new_partnerid: ACC,
        new_region: 'EMEA',
        new_score: 7,
        new_synctomkto: true,
      }),
    );
  });
});

describe('currency and base amounts (SPEC section 3)', () => {
  const inCurrency = (id: string, which: { id: string }, values: RawRecord): RawRecord =>
    opportunity(id, undefined, { _transactioncurrencyid_value: which.id, ...values });

  it("amounts stay in the opportunity's own currency, named by its ISO code, and the _base columns are in the base currency", () => {
    const page = resolve({
      opportunities: [
        inCurrency(OPP, CURRENCY.eur, {
          estimatedvalue: 920,
          actualvalue: 460,
          estimatedvalue_base: 1000,
          actualvalue_base: 500,
        }),
      ],
    });
    expect(page.errors).toEqual([]);
    expect(page.opportunities[0]).toMatchObject({
      amount: 920,
      actual_amount: 460,
      currency: 'EUR',
      amount_base: 1000,
      actual_amount_base: 500,
    });
  });

  it('each opportunity of a page takes its own currency', () => {
    const page = resolve({
      opportunities: [
        inCurrency(guid(1), CURRENCY.usd, { estimatedvalue: 100, estimatedvalue_base: 100 }),
        inCurrency(guid(2), CURRENCY.eur, { estimatedvalue: 92, estimatedvalue_base: 100 }),
        inCurrency(guid(3), CURRENCY.gbp, { estimatedvalue: 79, estimatedvalue_base: 100 }),
      ],
    });
    expect(page.opportunities.map((o) => [o.currency, o.amount, o.amount_base])).toEqual([
      ['USD', 100, 100],
      ['EUR', 92, 100],
      ['GBP', 79, 100],
    ]);
  });

  it('an opportunity without a transaction currency (no money values) has no currency, and is no error', () => {
    const page = resolve({
      opportunities: [
        opportunity(OPP, undefined, {
          _transactioncurrencyid_value: null,
          estimatedvalue: null,
          estimatedvalue_base: null,
        }),
      ],
    });
    expect(page.errors).toEqual([]);
    expect(page.opportunities[0]).toMatchObject({ currency: null, amount: null, amount_base: null });
  });

  it('an unknown currency keeps only that opportunity out; the rest of the page is written', () => {
    const unknown = guid(9, 'ca000000');
    const page = resolve({
      opportunities: [
        inCurrency(OPP, { id: unknown }, { estimatedvalue: 10 }),
        opportunity(OPP2, { id: CON, type: 'contact' }),
      ],
      contacts: [contact(CON)],
    });
    expect(page.opportunities.map((o) => o.external_opportunity_id)).toEqual([OPP2]);
    expect(page.roles.map((r) => r.external_opportunity_id)).toEqual([OPP2]);
    expect(page.errors).toEqual([
      expect.objectContaining({
        entity: 'opportunity',
        record_id: OPP,
        error: `_transactioncurrencyid_value ${unknown} is not a currency of transactioncurrencies`,
      }),
    ]);
  });

  it('the currency table becomes id → ISO code; ids are normalised and rows without an id or a code name none', () => {
    const currencies = parseCurrencies([
      { transactioncurrencyid: `{${CURRENCY.eur.id.toUpperCase()}}`, isocurrencycode: 'EUR' },
      { transactioncurrencyid: CURRENCY.gbp.id, isocurrencycode: ' GBP ' },
      { transactioncurrencyid: CURRENCY.usd.id, isocurrencycode: null },
      { transactioncurrencyid: 'dollar', isocurrencycode: 'USD' },
    ]);
    expect([...currencies]).toEqual([
      [CURRENCY.eur.id, 'EUR'],
      [CURRENCY.gbp.id, 'GBP'],
    ]);
  });

  it('a page points to an unknown currency only when an opportunity names one the table does not', () => {
    const known = [opportunity(OPP), opportunity(OPP2, undefined, { _transactioncurrencyid_value: null })];
    expect(hasUnknownCurrency(known, currenciesMap())).toBe(false);
    const added = opportunity(guid(3), undefined, { _transactioncurrencyid_value: guid(9, 'ca000000') });
    expect(hasUnknownCurrency([...known, added], currenciesMap())).toBe(true);
  });
});

describe('sync filter (SYNC_FILTER_ATTRIBUTE)', () => {
  const options = { customFields: [], filterAttribute: 'new_synctomkto' };

  it('skips only opportunities where the attribute is explicitly false', () => {
    const page = resolve(
      {
        opportunities: [
          opportunity(guid(1), { id: CON, type: 'contact' }, { new_synctomkto: false }),
          opportunity(guid(2), undefined, { new_synctomkto: true }),
          opportunity(guid(3), undefined, { new_synctomkto: null }),
          opportunity(guid(4)),
        ],
        contacts: [contact(CON)],
      },
      options,
    );
    expect(page.skippedIds).toEqual([guid(1)]);
    expect(page.opportunities.map((o) => o.external_opportunity_id)).toEqual([guid(2), guid(3), guid(4)]);
    expect(page.roles).toEqual([]);
    expect(page.leads).toEqual([]);
  });

  it('syncs everything when no filter attribute is configured', () => {
    const page = resolve({ opportunities: [opportunity(OPP, undefined, { new_synctomkto: false })] });
    expect(page.skippedIds).toEqual([]);
    expect(page.opportunities).toHaveLength(1);
  });
});

describe('bad input becomes a sync error, the rest of the page still resolves', () => {
  const good = opportunity(OPP2, { id: ACC, type: 'account' });

  it.each([
    [
      'a malformed opportunityid',
      { opportunityid: 'not-a-guid' },
      'not-a-guid',
      /opportunityid is not a GUID/,
    ],
    ['a missing opportunityid', { opportunityid: undefined }, '(missing)', /opportunityid is missing/],
    ['a malformed customer GUID', { _customerid_value: '1234' }, OPP, /_customerid_value is not a GUID/],
    [
      'a systemuser customer',
      { _customerid_value: USER, [`_customerid_value${LOOKUP}`]: 'systemuser' },
      OPP,
      /unknown customer type "systemuser"/,
    ],
    [
      'a customer without its lookuplogicalname annotation',
      { _customerid_value: CON },
      OPP,
      /unknown customer type null/,
    ],
    ['a non-numeric amount', { estimatedvalue: 'lots' }, OPP, /estimatedvalue is not a number/],
    ['a non-numeric base amount', { actualvalue_base: 'lots' }, OPP, /actualvalue_base is not a number/],
    [
      'a malformed currency GUID',
      { _transactioncurrencyid_value: 'EUR' },
      OPP,
      /_transactioncurrencyid_value is not a GUID/,
    ],
    [
      'a currency the organisation does not have',
      { _transactioncurrencyid_value: guid(9, 'ca000000') },
      OPP,
      /_transactioncurrencyid_value ca000000-0000-0000-0000-000000000009 is not a currency of transactioncurrencies/,
    ],
    ['an invalid close date', { estimatedclosedate: '2024-02-31' }, OPP, /estimatedclosedate is not a date/],
    [
      'a timestamp without a zone',
      { modifiedon: '2024-02-01T11:30:00' },
      OPP,
      /modifiedon is not an ISO-8601/,
    ],
  ])('%s', (_case, extra, recordId, reason) => {
    const bad: RawRecord = { ...opportunity(OPP), ...extra };
    const page = resolve({ opportunities: [bad, good], accounts: [account(ACC)] });
    expect(page.opportunities.map((o) => o.external_opportunity_id)).toEqual([OPP2]);
    expect(page.errors).toHaveLength(1);
    expect(page.errors[0]).toMatchObject({ entity: 'opportunity', record_id: recordId });
    expect(page.errors[0]?.error).toMatch(reason);
    expect(JSON.parse(page.errors[0]?.payload ?? '')).toMatchObject({ name: bad.name });
  });

  it('a connection with a malformed contact GUID is an error and gives no role', () => {
    const page = resolve({
      opportunities: [opportunity(OPP)],
      contacts: [contact(CON)],
      connections: [
        connection(guid(1, 'cccc0000'), OPP, { id: 'zz', type: 'contact' }, ROLE.champion),
        connection(guid(2, 'cccc0000'), OPP, { id: CON, type: 'contact' }, ROLE.champion),
      ],
    });
    expect(page.errors.map((e) => [e.entity, e.record_id])).toEqual([['connection', guid(1, 'cccc0000')]]);
    expect(page.roles.map((r) => r.dynamics_contact_id)).toEqual([CON]);
  });

  it('a contact with a malformed parent GUID is an error; its opportunity syncs without role or company', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON, { id: '{oops}', type: 'account' })],
    });
    expect(page.errors.map((e) => [e.entity, e.record_id])).toEqual([['contact', CON]]);
    expect(page.opportunities[0]?.external_company_id).toBeNull();
    expect(page.roles).toEqual([]);
  });

  it('truncates absurdly long text to the documented limits without splitting a surrogate pair', () => {
    const longName = 'x'.repeat(254) + '😀' + 'tail';
    const description = 'д'.repeat(40_000);
    const page = resolve({ opportunities: [opportunity(OPP, undefined, { name: longName, description })] });
    const row = page.opportunities[0];
    expect(row?.name).toBe('x'.repeat(254));
    expect(row?.description).toBe('д'.repeat(32_000));
    expect(page.errors).toEqual([]);
  });

  it('a huge bad record is stored with a truncated payload', () => {
    const page = resolve({
      opportunities: [opportunity('bad', undefined, { description: 'y'.repeat(100_000) })],
    });
    expect(page.errors[0]?.payload.length).toBeLessThanOrEqual(4_000);
  });
});

describe('what a page needs from Dynamics', () => {
  it('referencedIds lists customer contacts and accounts and stakeholder contacts of the page, deduplicated', () => {
    const ids = referencedIds(
      [
        opportunity(OPP, { id: CON.toUpperCase(), type: 'contact' }),
        opportunity(OPP2, { id: ACC, type: 'account' }),
        opportunity(guid(3), { id: ACC, type: 'account' }),
      ],
      [
        connection(guid(1, 'cccc0000'), OPP2, { id: CON2, type: 'contact' }, ROLE.champion),
        connection(guid(2, 'cccc0000'), OPP2, { id: CON3, type: 'contact' }, ROLE.salesTeam),
        connection(guid(3, 'cccc0000'), OPP2, { id: CON, type: 'contact' }, ROLE.stakeholder),
      ],
      rolesMap(),
    );
    expect(ids).toEqual({ contactIds: [CON, CON2].sort(), accountIds: [ACC] });
  });

  it('referencedIds leaves out opportunities the filter skips', () => {
    const ids = referencedIds(
      [opportunity(OPP, { id: CON, type: 'contact' }, { f: false })],
      [],
      rolesMap(),
      {
        customFields: [],
        filterAttribute: 'f',
      },
    );
    expect(ids).toEqual({ contactIds: [], accountIds: [] });
  });

  it('parentAccountIds lists the account parents of contacts only', () => {
    expect(
      parentAccountIds([
        contact(CON, { id: ACC2, type: 'account' }),
        contact(CON2, { id: CON, type: 'contact' }),
        contact(CON3, { id: ACC2, type: 'account' }),
        contact(guid(4), { id: ACC, type: 'account' }),
        contact(guid(5)),
      ]),
    ).toEqual([ACC, ACC2].sort());
  });

  it('opportunityIdsOfConnection finds the opportunity on either side of a changed connection', () => {
    const row = connection(
      guid(1, 'cccc0000'),
      OPP.toUpperCase(),
      { id: CON, type: 'contact' },
      ROLE.champion,
    );
    expect(opportunityIdsOfConnection(row)).toEqual([OPP]);
    expect(opportunityIdsOfConnection(reciprocal(row, guid(2, 'cccc0000')))).toEqual([OPP]);
    expect(
      opportunityIdsOfConnection(
        connection(guid(3), ACC, { id: CON, type: 'contact' }, ROLE.champion, {
          [`_record1id_value${LOOKUP}`]: 'account',
          record1objecttypecode: 1,
        }),
      ),
    ).toEqual([]);
  });

  it('parseConnectionRoles keys roles by lower-case id and drops unreadable rows', () => {
    const roles = parseConnectionRoles([
      { connectionroleid: ROLE.champion.id.toUpperCase(), name: 'Champion', category: 1000 },
      { connectionroleid: 'nope', name: 'Broken', category: 1000 },
      { connectionroleid: guid(9), category: 1000 },
    ]);
    expect([...roles.values()]).toEqual([ROLE.champion]);
  });
});

describe('contacts and accounts on their own (refresh on change)', () => {
  it('mapContact gives the lead with its account parent, or the reason it cannot', () => {
    expect(mapContact(contact(CON, { id: ACC, type: 'account' }))).toMatchObject({
      ok: true,
      row: { dynamics_contact_id: CON, external_company_id: ACC },
    });
    expect(mapContact(contact(CON, { id: CON2, type: 'contact' }))).toMatchObject({
      ok: true,
      row: { external_company_id: null },
    });
    expect(mapContact({ contactid: 'x' })).toMatchObject({
      ok: false,
      error: { entity: 'contact', record_id: 'x' },
    });
  });

  it('mapAccount takes the industry label, else the code as text, else null', () => {
    expect(mapAccount(account(ACC))).toMatchObject({ ok: true, row: { industry: 'Consulting' } });
    expect(mapAccount(account(ACC, { [`industrycode${FORMATTED}`]: undefined }))).toMatchObject({
      ok: true,
      row: { industry: '7' },
    });
    expect(mapAccount(account(ACC, { industrycode: null }))).toMatchObject({
      ok: true,
      row: { industry: null },
    });
  });
});

describe('contacts and accounts an earlier page of the run wrote', () => {
  const written = (contacts: [string, string | null][], accounts: string[]): WrittenThisRun => ({
    contacts: new Map(contacts),
    accounts: new Set(accounts),
  });

  it('a written contact customer gives its role and its written parent as company, with no lead or company row', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      written: written([[CON, ACC]], [ACC]),
    });
    expect(page.opportunities.map((o) => [o.external_opportunity_id, o.external_company_id])).toEqual([
      [OPP, ACC],
    ]);
    expect(page.roles.map((r) => [r.dynamics_contact_id, r.role, r.is_primary])).toEqual([
      [CON, 'Potential Customer', true],
    ]);
    expect(page.leads).toEqual([]);
    expect(page.companies).toEqual([]);
    expect(page.errors).toEqual([]);
  });

  it('a written stakeholder contact gives its role; a written account customer is the company', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: ACC, type: 'account' })],
      connections: [connection(guid(1, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.champion)],
      written: written([[CON2, null]], [ACC]),
    });
    expect(page.opportunities[0]?.external_company_id).toBe(ACC);
    expect(page.roles.map((r) => [r.dynamics_contact_id, r.role])).toEqual([[CON2, 'Champion']]);
    expect(page.stakeholderConnections.map((c) => c.connection_id)).toEqual([guid(1, 'cccc0000')]);
    expect(page.leads).toEqual([]);
    expect(page.companies).toEqual([]);
  });

  it('a written contact whose parent account could not be written resolves it again: same error, no company', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      written: written([[CON, ACC]], []),
    });
    expect(page.opportunities[0]?.external_company_id).toBeNull();
    expect(page.roles.map((r) => r.dynamics_contact_id)).toEqual([CON]);
    expect(page.errors.map((e) => [e.entity, e.record_id, e.error])).toEqual([
      ['account', ACC, `account not returned by Dynamics (parent of contact ${CON})`],
    ]);
  });

  it('a row the page read wins over what the run wrote (it is the newer)', () => {
    const page = resolve({
      opportunities: [opportunity(OPP, { id: CON, type: 'contact' })],
      contacts: [contact(CON, { id: ACC2, type: 'account' })],
      accounts: [account(ACC2)],
      written: written([[CON, ACC]], [ACC]),
    });
    expect(page.opportunities[0]?.external_company_id).toBe(ACC2);
    expect(page.leads.map((l) => [l.dynamics_contact_id, l.external_company_id])).toEqual([[CON, ACC2]]);
    expect(page.companies.map((c) => c.external_company_id)).toEqual([ACC2]);
  });

  it('writtenByPage lists the leads with the parent account they were read with and the companies', () => {
    const contacts = [
      contact(CON, { id: ACC, type: 'account' }),
      contact(CON2),
      contact(CON3, { id: CON, type: 'contact' }),
    ];
    const page = resolve({
      opportunities: [
        opportunity(OPP, { id: CON, type: 'contact' }),
        opportunity(OPP2, { id: CON3, type: 'contact' }),
      ],
      connections: [connection(guid(1, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.champion)],
      contacts,
      // ACC is not returned: CON's lead is written without company, and CON still remembers ACC as its parent.
    });
    expect(writtenByPage(page, contacts)).toEqual({
      contacts: [
        [CON, ACC],
        [CON2, null],
        [CON3, null],
      ],
      accounts: [],
    });
  });

  it('pages resolved in turn, each pointing to what the pages before it wrote, add up to the whole organisation at once', () => {
    // Six opportunities over three pages share customers, stakeholders and parents; one parent is never returned.
    const accounts = [account(ACC), account(ACC2)];
    const contacts = [
      contact(CON, { id: ACC, type: 'account' }),
      contact(CON2, { id: guid(9, 'acc00000'), type: 'account' }),
      contact(CON3),
    ];
    const opportunities = [1, 2, 3, 4, 5, 6].map((n) =>
      opportunity(
        guid(n, 'b0b00000'),
        n % 3 === 0 ? { id: ACC2, type: 'account' } : { id: n % 2 ? CON : CON2, type: 'contact' },
      ),
    );
    const connections = [1, 2, 3, 4, 5, 6].flatMap((n) => [
      connection(guid(n, 'cccc0000'), guid(n, 'b0b00000'), { id: CON3, type: 'contact' }, ROLE.champion),
      connection(
        guid(n, 'dddd0000'),
        guid(n, 'b0b00000'),
        { id: n % 2 ? CON2 : CON, type: 'contact' },
        ROLE.champion,
      ),
    ]);
    const whole = expectedStore(
      {
        opportunities,
        connections,
        contacts,
        accounts,
        connectionRoles: connectionRoleRows(),
        currencies: currencyRows(),
      },
      { customFields: [] },
    );

    const run = { contacts: new Map<string, string | null>(), accounts: new Set<string>() };
    const store = {
      opportunities: [] as OpportunityRow[],
      roles: [] as RoleRow[],
      leads: new Map<string, LeadRow>(),
      companies: new Map<string, CompanyRow>(),
      errors: new Map<string, [string, string]>(),
    };
    for (const start of [0, 2, 4]) {
      const pageOpportunities = opportunities.slice(start, start + 2);
      const pageConnections = connections.filter((c) =>
        pageOpportunities.some((o) => o.opportunityid === c._record1id_value),
      );
      // What the activity reads: referenced rows the run has not written, and the parents of remembered contacts.
      const wanted = referencedIds(pageOpportunities, pageConnections, rolesMap());
      const pageContacts = contacts.filter(
        (c) => wanted.contactIds.includes(c.contactid as string) && !run.contacts.has(c.contactid as string),
      );
      const accountIds = [
        ...wanted.accountIds,
        ...parentAccountIds(pageContacts),
        ...wanted.contactIds.flatMap((id) => run.contacts.get(id) ?? []),
      ].filter((id) => !run.accounts.has(id));
      const page = resolve({
        opportunities: pageOpportunities,
        connections: pageConnections,
        contacts: pageContacts,
        accounts: accounts.filter((a) => accountIds.includes(a.accountid as string)),
        written: run,
      });
      store.opportunities.push(...page.opportunities);
      store.roles.push(...page.roles);
      for (const lead of page.leads) store.leads.set(lead.dynamics_contact_id, lead);
      for (const company of page.companies) store.companies.set(company.external_company_id, company);
      for (const error of page.errors)
        store.errors.set(`${error.entity}|${error.record_id}`, [error.entity, error.record_id]);
      const writes = writtenByPage(page, pageContacts);
      for (const [id, parent] of writes.contacts) run.contacts.set(id, parent);
      for (const id of writes.accounts) run.accounts.add(id);
    }
    expect(run.contacts.size).toBe(3);
    expect(store.opportunities).toEqual(whole.opportunities);
    expect(store.roles).toEqual(whole.roles);
    expect(
      [...store.leads.values()].sort((a, b) => (a.dynamics_contact_id < b.dynamics_contact_id ? -1 : 1)),
    ).toEqual(whole.leads);
    expect(
      [...store.companies.values()].sort((a, b) => (a.external_company_id < b.external_company_id ? -1 : 1)),
    ).toEqual(whole.companies);
    expect([...store.errors.values()].sort()).toEqual(whole.errors.map((e) => [e.entity, e.record_id]));
  });
});

describe('expectedStore (oracle for integration tests)', () => {
  it('resolves the whole organisation, counting only connection rows whose record1 is an opportunity', () => {
    const forward = connection(guid(1, 'cccc0000'), OPP, { id: CON2, type: 'contact' }, ROLE.champion);
    const expected = expectedStore(
      {
        opportunities: [
          opportunity(OPP2, { id: ACC, type: 'account' }),
          opportunity(OPP, { id: CON, type: 'contact' }),
        ],
        connections: [reciprocal(forward, guid(2, 'cccc0000')), forward],
        contacts: [contact(CON, { id: ACC2, type: 'account' }), contact(CON2), contact(CON3)],
        accounts: [account(ACC), account(ACC2), account(guid(5))],
        connectionRoles: connectionRoleRows(),
        currencies: currencyRows(),
      },
      { customFields: [] },
    );
    expect(expected.opportunities.map((o) => [o.external_opportunity_id, o.external_company_id])).toEqual(
      [
        [OPP, ACC2],
        [OPP2, ACC],
      ].sort(),
    );
    expect(expected.roles.map((r) => [r.dynamics_contact_id, r.role])).toEqual([
      [CON, 'Potential Customer'],
      [CON2, 'Champion'],
    ]);
    expect(expected.leads.map((l) => l.dynamics_contact_id)).toEqual([CON, CON2]);
    expect(expected.companies.map((c) => c.external_company_id)).toEqual([ACC, ACC2].sort());
    expect(expected.errors).toEqual([]);
  });
});
