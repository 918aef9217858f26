/**
 * Rows every organisation has: the out-of-the-box connection roles, its currencies (US dollars the base one), a
 * few users and the organization row naming the base currency.
 */
import { seededRandom } from './random';
import type { OrgStore } from './store';

const random = seededRandom(7_000_001);

/** Out-of-the-box connection roles by category (1 Business, 1000 Stakeholder, 1001 Sales Team). */
export const CONNECTION_ROLES: readonly { id: string; name: string; category: number }[] = [
  ['Stakeholder', 1000],
  ['Champion', 1000],
  ['Decision Maker', 1000],
  ['End User', 1000],
  ['Economic Buyer', 1000],
  ['Influencer', 1000],
  ['Technical Buyer', 1000],
  ['Sales Team Member', 1001],
  ['Delegate', 1001],
  ['Account Manager', 1001],
  ['Colleague', 1],
  ['Former Employee', 1],
].map(([name, category]) => ({ id: random.guid(), name: name as string, category: category as number }));

export const CURRENCY_ID = random.guid();

export const SYSTEM_USERS: readonly { id: string; fullname: string; email: string }[] = [
  { id: random.guid(), fullname: 'Alex Wilber', email: 'alexw@oppsync-emulator.example' },
  { id: random.guid(), fullname: 'Megan Bowen', email: 'meganb@oppsync-emulator.example' },
  { id: random.guid(), fullname: 'Lee Gu', email: 'leeg@oppsync-emulator.example' },
];

export interface SeededCurrency {
  id: string;
  isocurrencycode: string;
  currencyname: string;
  currencysymbol: string;
  /** Units of the currency per US dollar, the base currency, when the organisation is seeded. */
  exchangerate: number;
}

/** The organisation's currencies, the base one (US dollars, rate 1) first; ids drawn after the ones above. */
export const CURRENCIES = {
  usd: {
    id: CURRENCY_ID,
    isocurrencycode: 'USD',
    currencyname: 'US Dollar',
    currencysymbol: '$',
    exchangerate: 1,
  },
  eur: {
    id: random.guid(),
    isocurrencycode: 'EUR',
    currencyname: 'Euro',
    currencysymbol: '€',
    exchangerate: 0.92,
  },
  gbp: {
    id: random.guid(),
    isocurrencycode: 'GBP',
    currencyname: 'Pound Sterling',
    currencysymbol: '£',
    exchangerate: 0.79,
  },
} as const satisfies Record<string, SeededCurrency>;

const ORGANIZATION_ID = random.guid();

const SEEDED_AT = '2023-01-02T08:00:00Z';

export function seedReferenceData(store: OrgStore): void {
  for (const role of CONNECTION_ROLES) {
    store.insert('connectionrole', {
      connectionroleid: role.id,
      name: role.name,
      category: role.category,
      statecode: 0,
      createdon: SEEDED_AT,
    });
  }
  for (const { id, ...currency } of Object.values(CURRENCIES)) {
    store.insert('transactioncurrency', { transactioncurrencyid: id, ...currency, createdon: SEEDED_AT });
  }
  store.insert('organization', {
    organizationid: ORGANIZATION_ID,
    name: 'oppsync emulator',
    basecurrencyid: { id: CURRENCIES.usd.id, logicalName: 'transactioncurrency' },
    createdon: SEEDED_AT,
  });
  for (const user of SYSTEM_USERS) {
    store.insert('systemuser', {
      systemuserid: user.id,
      fullname: user.fullname,
      internalemailaddress: user.email,
      createdon: SEEDED_AT,
    });
  }
}

export function roleIdByName(name: string): string {
  const role = CONNECTION_ROLES.find((candidate) => candidate.name === name);
  if (!role) throw new Error(`No seeded connection role '${name}'`);
  return role.id;
}
