/** Rows every organisation has: the out-of-the-box connection roles, a currency and a few users. */
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
  store.insert('transactioncurrency', {
    transactioncurrencyid: CURRENCY_ID,
    currencyname: 'US Dollar',
    isocurrencycode: 'USD',
    currencysymbol: '$',
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
