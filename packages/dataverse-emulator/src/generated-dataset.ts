/**
 * A deterministic, arbitrarily large organisation for the benchmark: per opportunity about one customer
 * (≈60% contacts, 40% accounts) and two stakeholder-style connections with mixed roles, in US dollars (≈75%,
 * the base currency), euros and pounds.
 */
import { seededRandom, type Random } from './random';
import { CONNECTION_ROLES, CURRENCIES, SYSTEM_USERS, type SeededCurrency } from './reference-data';
import { moneyInBase, type OrgStore } from './store';
import type { GenerateOptions, Lookup } from './types';

const FIRST = [
  'Ana',
  'Ben',
  'Chloé',
  'Dev',
  'Elif',
  'Farah',
  'Gus',
  'Hana',
  'Ivan',
  'Jade',
  'Kofi',
  'Lena',
  'Mo',
  'Nia',
  'Omar',
  'Pia',
  'Quinn',
  'Rui',
  'Sana',
  'Tom',
];
const LAST = [
  'Ahmed',
  'Brown',
  'Costa',
  'Dubois',
  'Evans',
  'Fischer',
  'García',
  'Hughes',
  'Ito',
  'Jensen',
  'Kim',
  'López',
  "O'Brien",
  'Novak',
  'Patel',
  'Rossi',
  'Silva',
  'Tanaka',
  'Weber',
  'Zhang',
];
const WORDS = [
  'Blue',
  'North',
  'Summit',
  'Cedar',
  'Vertex',
  'Harbor',
  'Quantum',
  'Pioneer',
  'Silver',
  'Granite',
  'Lumen',
  'Orbit',
];
const KINDS = [
  'Logistics',
  'Foods',
  'Health',
  'Systems',
  'Energy',
  'Media',
  'Retail',
  'Robotics',
  'Finance',
  'Labs',
];
const PRODUCTS = [
  'CRM rollout',
  'Fleet renewal',
  'Support contract',
  'Analytics suite',
  'Cloud migration',
  'Training',
  'Hardware refresh',
  'Security audit',
];
const INDUSTRIES = [1, 3, 6, 7, 9, 12, 13, 16, 17, 19, 25, 29, 33];
const REGIONS = ['EMEA', 'NA', 'APAC', 'LATAM', null];
const START = Date.UTC(2022, 0, 1);
const DAY = 86_400_000;

const stakeholderRoles = CONNECTION_ROLES.filter((role) => role.category === 1000);
const salesTeamRoles = CONNECTION_ROLES.filter((role) => role.category === 1001);

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function seedGeneratedDataset(store: OrgStore, options: GenerateOptions): void {
  const random: Random = seededRandom(options.seed ?? 42);
  const total = Math.max(0, Math.floor(options.opportunities));
  const owners: Lookup[] = SYSTEM_USERS.map((user) =>
    Object.freeze({ id: user.id, logicalName: 'systemuser' }),
  );
  // Currencies come from a stream of their own, so the rest of the organisation is what it was before them.
  const currencyRandom = seededRandom((options.seed ?? 42) + 1);
  const inCurrency = (currency: SeededCurrency): { lookup: Lookup; rate: number } => ({
    lookup: Object.freeze({ id: currency.id, logicalName: 'transactioncurrency' }),
    rate: currency.exchangerate,
  });
  const usd = inCurrency(CURRENCIES.usd);
  const eur = inCurrency(CURRENCIES.eur);
  const gbp = inCurrency(CURRENCIES.gbp);
  const pickCurrency = (): { lookup: Lookup; rate: number } => {
    const roll = currencyRandom.next();
    return roll < 0.75 ? usd : roll < 0.9 ? eur : gbp;
  };
  const accounts: Lookup[] = [];
  const contacts: Lookup[] = [];

  const newAccount = (parent: Lookup | null): Lookup => {
    const name = `${random.pick(WORDS)} ${random.pick(KINDS)} ${accounts.length + 1}`;
    const created = iso(START + random.int(900) * DAY);
    const id = store.insertPrepared('account', {
      accountid: random.guid(),
      name,
      websiteurl: `https://www.${name.toLowerCase().replace(/ /g, '-')}.example`,
      industrycode: random.chance(0.9) ? random.pick(INDUSTRIES) : null,
      parentaccountid: parent,
      statecode: 0,
      statuscode: 1,
      createdon: created,
    });
    const ref: Lookup = Object.freeze({ id, logicalName: 'account' });
    accounts.push(ref);
    return ref;
  };
  const newContact = (): Lookup => {
    const firstname = random.pick(FIRST);
    const lastname = random.pick(LAST);
    const roll = random.next();
    // Most contacts work for an account; some have no parent, a few have a contact parent.
    let parent: Lookup | null = null;
    if (roll < 0.75)
      parent = accounts.length > 0 && random.chance(0.8) ? random.pick(accounts) : newAccount(null);
    else if (roll < 0.85 && contacts.length > 0) parent = random.pick(contacts);
    const id = store.insertPrepared('contact', {
      contactid: random.guid(),
      firstname,
      lastname,
      fullname: `${firstname} ${lastname}`,
      // Addresses in ASCII, as mail systems (and Marketo, which takes no other) mostly have them.
      emailaddress1: `${firstname}.${lastname}.${contacts.length + 1}@mail.example`
        .normalize('NFD')
        .replace(/[\u0300-\u036f']/g, '')
        .toLowerCase(),
      parentcustomerid: parent,
      statecode: 0,
      statuscode: 1,
      createdon: iso(START + random.int(900) * DAY),
    });
    const ref: Lookup = Object.freeze({ id, logicalName: 'contact' });
    contacts.push(ref);
    return ref;
  };

  for (let index = 0; index < total; index++) {
    const reuse = random.chance(0.1);
    let customer: Lookup;
    if (random.chance(0.6)) customer = reuse && contacts.length > 0 ? random.pick(contacts) : newContact();
    else
      customer =
        reuse && accounts.length > 0
          ? random.pick(accounts)
          : newAccount(random.chance(0.1) && accounts.length > 0 ? random.pick(accounts) : null);
    const createdMs = START + random.int(1_000) * DAY + random.int(DAY);
    const state = random.next() < 0.7 ? 0 : random.chance(0.65) ? 1 : 2;
    const closeMs = createdMs + (30 + random.int(150)) * DAY;
    const estimated = (1 + random.int(400)) * 250;
    // Drawn in the order the row's columns always drew them: the same seed gives the same organisation.
    const key = random.guid();
    const name = `${random.pick(PRODUCTS)} #${index + 1}`;
    const actual = state === 1 ? Math.round(estimated * (0.8 + random.next() * 0.4)) : null;
    const currency = pickCurrency();
    const opportunityid = store.insertPrepared('opportunity', {
      opportunityid: key,
      name,
      estimatedvalue: estimated,
      actualvalue: actual,
      // Stored rows skip the store's derivation: the rate and base values as Dataverse would compute them.
      estimatedvalue_base: moneyInBase(estimated, currency.rate),
      actualvalue_base: moneyInBase(actual, currency.rate),
      exchangerate: currency.rate,
      estimatedclosedate: iso(closeMs).slice(0, 10),
      actualclosedate: state === 0 ? null : iso(closeMs - random.int(20) * DAY).slice(0, 10),
      description: random.chance(0.5) ? `Generated opportunity ${index + 1}` : null,
      closeprobability: state === 1 ? 100 : state === 2 ? 0 : 10 * random.int(10),
      stepname: random.pick(['1-Qualify', '2-Develop', '3-Propose', '4-Close']),
      salesstage: random.int(4),
      statecode: state,
      statuscode: state === 0 ? (random.chance(0.9) ? 1 : 2) : state === 1 ? 3 : random.chance(0.5) ? 4 : 5,
      customerid: customer,
      parentaccountid: customer.logicalName === 'account' ? customer : null,
      parentcontactid: customer.logicalName === 'contact' ? customer : null,
      ownerid: random.pick(owners),
      transactioncurrencyid: currency.lookup,
      new_synctomkto: random.chance(0.8) ? true : random.chance(0.5) ? false : null,
      new_region: random.pick(REGIONS),
      createdon: iso(createdMs),
      modifiedon: iso(createdMs + random.int(30) * DAY),
    });
    const from: Lookup = Object.freeze({ id: opportunityid, logicalName: 'opportunity' });
    const connections = random.int(5); // 0..4, about two on average
    for (let link = 0; link < connections; link++) {
      const roll = random.next();
      let to: Lookup;
      let roleId: string;
      if (roll < 0.8) {
        to = contacts.length > 0 && random.chance(0.7) ? random.pick(contacts) : newContact();
        roleId = random.pick(stakeholderRoles).id;
      } else if (roll < 0.9) {
        to = contacts.length > 0 ? random.pick(contacts) : newContact();
        roleId = random.pick(salesTeamRoles).id;
      } else {
        to = random.chance(0.5) && accounts.length > 0 ? random.pick(accounts) : random.pick(owners);
        roleId = random.pick(CONNECTION_ROLES).id;
      }
      store.connect(from, to, roleId, {
        reciprocalRoleId: null,
        statecode: random.chance(0.1) ? 1 : 0,
        masterId: random.guid(),
        reciprocalId: random.guid(),
      });
    }
  }
}
