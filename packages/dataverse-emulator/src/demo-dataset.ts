/**
 * The demo organisation: a dozen opportunities that together exercise every sync rule of SPEC section 1
 * (customer contact with an account / contact / no parent, customer account, both form lookups, stakeholders,
 * Sales Team, connections to accounts and users, inactive and duplicate connections, won and lost deals), in
 * three currencies (US dollars, the base one, euros and pounds).
 */
import { seededRandom } from './random';
import { CURRENCIES, roleIdByName, SYSTEM_USERS, type SeededCurrency } from './reference-data';
import type { OrgStore } from './store';
import type { Lookup } from './types';

const random = seededRandom(20_240_601);
const ids = <K extends string>(names: readonly K[]): Record<K, string> =>
  Object.fromEntries(names.map((name) => [name, random.guid()])) as Record<K, string>;

/** Ids of the seeded demo records, for tests that need a specific one. */
export const DEMO = {
  accounts: ids(['contoso', 'fabrikam', 'adventureWorks', 'northwind', 'tailspin', 'litware'] as const),
  contacts: ids(['maria', 'paul', 'sidney', 'rene', 'nancy', 'yvonne', 'susanna', 'thomas', 'jim'] as const),
  opportunities: ids([
    'contosoLaptops',
    'sidneyRetainer',
    'reneSubscription',
    'fabrikamDataCenter',
    'adventureFleet',
    'northwindSupplyChain',
    'litwareAudit',
    'contosoRenewal',
    'tailspinPilot',
    'paulTraining',
    'northwindAnalytics',
    'adventureServicePlan',
  ] as const),
} as const;

const account = (id: string): Lookup => ({ id, logicalName: 'account' });
const contact = (id: string): Lookup => ({ id, logicalName: 'contact' });
const opportunity = (id: string): Lookup => ({ id, logicalName: 'opportunity' });
const currency = (which: SeededCurrency): Lookup => ({ id: which.id, logicalName: 'transactioncurrency' });
const inEuros = { transactioncurrencyid: currency(CURRENCIES.eur) };
const inPounds = { transactioncurrencyid: currency(CURRENCIES.gbp) };
const [alex, megan] = SYSTEM_USERS;
const user = (which: typeof alex): Lookup => ({ id: which?.id ?? '', logicalName: 'systemuser' });

export function seedDemoDataset(store: OrgStore): void {
  const a = DEMO.accounts;
  const c = DEMO.contacts;
  const o = DEMO.opportunities;
  const accounts: [string, string, string, number, string | null][] = [
    [a.contoso, 'Contoso Ltd', 'https://www.contoso.com', 19, null],
    [a.fabrikam, 'Fabrikam, Inc.', 'https://www.fabrikam.com', 6, null],
    [a.adventureWorks, 'Adventure Works Cycles', 'https://www.adventure-works.com', 25, null],
    [a.northwind, 'Northwind Traders', 'https://www.northwindtraders.com', 33, null],
    [a.tailspin, 'Tailspin Toys', 'https://www.tailspintoys.com', 25, a.fabrikam],
    [a.litware, 'Litware, Inc.', 'https://www.litwareinc.com', 7, null],
  ];
  accounts.forEach(([id, name, websiteurl, industrycode, parent], index) => {
    store.insert('account', {
      accountid: id,
      name,
      websiteurl,
      industrycode,
      parentaccountid: parent ? account(parent) : null,
      statecode: 0,
      statuscode: 1,
      createdon: `2024-01-${String(10 + index).padStart(2, '0')}T09:15:00Z`,
    });
  });
  const contacts: [string, string, string, string, Lookup | null][] = [
    [c.maria, 'Maria', 'Campbell', 'maria.campbell@contoso.com', account(a.contoso)],
    [c.paul, 'Paul', 'Cannon', 'paul.cannon@fabrikam.com', account(a.fabrikam)],
    // A contact whose parent is another contact: the opportunity's company stays empty.
    [c.sidney, 'Sidney', 'Higa', 'sidney.higa@outlook.com', contact(c.maria)],
    [c.rene, 'René', 'Valdes', 'rene.valdes@gmail.com', null],
    [c.nancy, 'Nancy', 'Anderson', 'nancy.anderson@adventure-works.com', account(a.adventureWorks)],
    [c.yvonne, 'Yvonne', "O'Neil", 'yvonne.oneil@northwindtraders.com', account(a.northwind)],
    [c.susanna, 'Susanna', 'Stubberod', 'susanna.stubberod@contoso.com', account(a.contoso)],
    [c.thomas, 'Thomas', 'Andersen', 'thomas.andersen@litwareinc.com', account(a.litware)],
    [c.jim, 'Jim', 'Glynn', 'jim.glynn@fabrikam.com', account(a.fabrikam)],
  ];
  contacts.forEach(([id, firstname, lastname, emailaddress1, parent], index) => {
    store.insert('contact', {
      contactid: id,
      firstname,
      lastname,
      emailaddress1,
      parentcustomerid: parent,
      statecode: 0,
      statuscode: 1,
      createdon: `2024-02-${String(1 + index).padStart(2, '0')}T10:30:00Z`,
    });
  });

  let day = 0;
  const opp = (id: string, fields: Record<string, unknown>): void => {
    day += 3;
    const created = Date.UTC(2024, 2, 1) + day * 86_400_000;
    store.insert('opportunity', {
      opportunityid: id,
      statecode: 0,
      statuscode: 1,
      salesstage: 1,
      closeprobability: 50,
      transactioncurrencyid: currency(CURRENCIES.usd),
      ownerid: user(day % 2 === 0 ? alex : megan),
      actualvalue: null,
      actualclosedate: null,
      new_synctomkto: null,
      new_region: null,
      createdon: new Date(created).toISOString(),
      modifiedon: new Date(created + 5 * 86_400_000).toISOString(),
      ...fields,
    });
  };
  const won = { statecode: 1, statuscode: 3, salesstage: 3, closeprobability: 100 };
  opp(o.contosoLaptops, {
    name: '500 Laptops for Contoso field staff',
    customerid: contact(c.maria),
    parentcontactid: contact(c.maria),
    estimatedvalue: 412_500,
    estimatedclosedate: '2024-09-30',
    description: 'Refresh of field laptops across three regions.',
    stepname: '2-Develop',
    new_synctomkto: true,
    new_region: 'EMEA',
    ...inEuros,
  });
  opp(o.sidneyRetainer, {
    name: 'Consulting retainer – Sidney Higa',
    customerid: contact(c.sidney),
    estimatedvalue: 36_000,
    estimatedclosedate: '2024-07-15',
    stepname: '1-Qualify',
    salesstage: 0,
    closeprobability: 20,
    new_region: 'NA',
  });
  opp(o.reneSubscription, {
    name: 'Solo subscription – René Valdes',
    customerid: contact(c.rene),
    estimatedvalue: 1_200,
    estimatedclosedate: '2024-06-30',
    stepname: '3-Propose',
    salesstage: 2,
    closeprobability: 70,
    new_synctomkto: true,
  });
  opp(o.fabrikamDataCenter, {
    name: 'Fabrikam data center refresh',
    customerid: account(a.fabrikam),
    parentaccountid: account(a.fabrikam),
    estimatedvalue: 1_250_000,
    actualvalue: 1_180_000,
    estimatedclosedate: '2024-08-31',
    actualclosedate: '2024-08-20',
    description: 'Two racks, storage and five-year support.',
    stepname: '4-Close',
    ...won,
    new_synctomkto: true,
    new_region: 'NA',
    ...inPounds,
  });
  opp(o.adventureFleet, {
    name: 'Adventure Works delivery bike fleet',
    // Both form lookups set: Dynamics stores the account as the customer.
    parentaccountid: account(a.adventureWorks),
    parentcontactid: contact(c.nancy),
    estimatedvalue: 98_000,
    actualvalue: 0,
    estimatedclosedate: '2024-05-31',
    actualclosedate: '2024-06-04',
    stepname: '3-Propose',
    statecode: 2,
    statuscode: 5,
    salesstage: 2,
    closeprobability: 0,
    new_synctomkto: false,
    new_region: 'EMEA',
  });
  opp(o.northwindSupplyChain, {
    name: 'Northwind supply chain suite',
    customerid: contact(c.yvonne),
    estimatedvalue: 240_000,
    estimatedclosedate: '2024-12-15',
    stepname: '2-Develop',
    new_synctomkto: true,
    new_region: 'APAC',
  });
  opp(o.litwareAudit, {
    name: 'Litware security audit',
    customerid: account(a.litware),
    estimatedvalue: 54_500,
    estimatedclosedate: '2024-10-01',
    stepname: '2-Develop',
    new_synctomkto: false,
  });
  opp(o.contosoRenewal, {
    name: 'Contoso enterprise agreement renewal 2025',
    customerid: account(a.contoso),
    estimatedvalue: 730_000,
    actualvalue: 745_250.5,
    estimatedclosedate: '2024-12-31',
    actualclosedate: '2024-12-18',
    stepname: '4-Close',
    ...won,
    new_synctomkto: true,
    new_region: 'EMEA',
    ...inEuros,
  });
  opp(o.tailspinPilot, {
    name: 'Tailspin Toys pilot',
    customerid: account(a.tailspin),
    estimatedvalue: 15_000,
    estimatedclosedate: '2025-01-31',
    stepname: '1-Qualify',
    statuscode: 2,
    salesstage: 0,
    closeprobability: 10,
  });
  opp(o.paulTraining, {
    name: 'Training package – Paul Cannon',
    customerid: contact(c.paul),
    estimatedvalue: 8_400,
    estimatedclosedate: '2024-09-01',
    actualclosedate: '2024-08-12',
    stepname: '3-Propose',
    statecode: 2,
    statuscode: 4,
    salesstage: 2,
    closeprobability: 0,
    new_synctomkto: true,
  });
  opp(o.northwindAnalytics, {
    name: 'Northwind analytics add-on',
    customerid: contact(c.yvonne),
    estimatedvalue: 62_000,
    estimatedclosedate: '2025-03-31',
    stepname: '1-Qualify',
    salesstage: 0,
    closeprobability: 25,
    new_synctomkto: false,
    new_region: 'APAC',
  });
  opp(o.adventureServicePlan, {
    name: 'Adventure Works service plan',
    customerid: contact(c.nancy),
    estimatedvalue: 18_750,
    estimatedclosedate: '2025-02-28',
    stepname: '2-Develop',
    new_region: 'EMEA',
    ...inPounds,
  });

  const role = roleIdByName;
  const link = (opp: string, to: Lookup, roleName: string, statecode: 0 | 1 = 0): void => {
    store.connect(opportunity(opp), to, role(roleName), { reciprocalRoleId: null, statecode });
  };
  link(o.contosoLaptops, contact(c.susanna), 'Decision Maker');
  link(o.contosoLaptops, contact(c.paul), 'Influencer');
  link(o.contosoLaptops, contact(c.jim), 'Sales Team Member');
  link(o.sidneyRetainer, contact(c.sidney), 'Champion'); // the customer is also a stakeholder
  link(o.fabrikamDataCenter, contact(c.paul), 'Economic Buyer');
  link(o.fabrikamDataCenter, contact(c.jim), 'Technical Buyer');
  link(o.fabrikamDataCenter, account(a.tailspin), 'Colleague'); // to an account: no role
  link(o.fabrikamDataCenter, user(alex), 'Account Manager'); // to a user: no role
  link(o.adventureFleet, contact(c.nancy), 'End User');
  link(o.northwindSupplyChain, contact(c.yvonne), 'Stakeholder');
  link(o.northwindSupplyChain, contact(c.yvonne), 'Stakeholder'); // duplicate connection
  link(o.northwindSupplyChain, contact(c.thomas), 'Influencer', 1); // inactive
  link(o.litwareAudit, contact(c.thomas), 'Stakeholder');
  link(o.contosoRenewal, contact(c.maria), 'Champion');
  link(o.contosoRenewal, contact(c.susanna), 'Decision Maker');
  link(o.paulTraining, contact(c.paul), 'Decision Maker');
  link(o.northwindAnalytics, contact(c.jim), 'Delegate');
  link(o.northwindAnalytics, user(megan), 'Account Manager');
  link(o.adventureServicePlan, contact(c.maria), 'Influencer');
  link(o.adventureServicePlan, contact(c.nancy), 'End User');
}
