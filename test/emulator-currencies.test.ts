/**
 * The emulator's money as Dataverse keeps it: transactioncurrencies, the organisation's base currency, and each
 * opportunity's exchangerate and _base values, recomputed whenever the opportunity is saved.
 */
import { CURRENCIES, DEMO, startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import { clientToken, readAllPages, webGet } from './emulator-http';

const MONEY =
  '_transactioncurrencyid_value,exchangerate,estimatedvalue,estimatedvalue_base,actualvalue,actualvalue_base';
const o = DEMO.opportunities;
const currency = (id: string) => ({ id, logicalName: 'transactioncurrency' });

describe('emulator: currencies and base amounts', () => {
  let emulator: Emulator;
  let token: string;

  beforeEach(async () => {
    emulator = await startEmulator();
    token = await clientToken(emulator);
  });
  afterEach(() => emulator.close());

  /** One opportunity's money columns as the Web API serves them. */
  async function money(id: string): Promise<Record<string, unknown>> {
    const reply = await webGet<Record<string, unknown>>(
      emulator,
      token,
      `opportunities(${id})?$select=${MONEY}`,
    );
    expect(reply.status).toBe(200);
    return reply.json;
  }

  it('serves transactioncurrencies and organizations as OData collections with $select', async () => {
    const currencies = await webGet(
      emulator,
      token,
      'transactioncurrencies?$select=isocurrencycode,currencyname,exchangerate',
    );
    expect(currencies.status).toBe(200);
    expect(currencies.json['@odata.context']).toMatch(/\$metadata#transactioncurrencies\(/);
    expect(
      currencies.json.value.map((row) => [row.transactioncurrencyid, row.isocurrencycode, row.exchangerate]),
    ).toEqual(
      expect.arrayContaining(Object.values(CURRENCIES).map((c) => [c.id, c.isocurrencycode, c.exchangerate])),
    );
    expect(currencies.json.value).toHaveLength(3);
    expect(Object.keys(currencies.json.value[0] ?? {}).sort()).toEqual(
      ['@odata.etag', 'currencyname', 'exchangerate', 'isocurrencycode', 'transactioncurrencyid'].sort(),
    );
    const organizations = await webGet(emulator, token, 'organizations?$select=name,_basecurrencyid_value');
    expect(organizations.status).toBe(200);
    expect(organizations.json.value).toEqual([
      expect.objectContaining({ name: 'oppsync emulator', _basecurrencyid_value: CURRENCIES.usd.id }),
    ]);
  });

  it('every opportunity carries its currency, that currency’s rate and X_base = X / exchangerate', async () => {
    const { rows } = await readAllPages(
      emulator,
      token,
      `opportunities?$select=${MONEY}`,
      'odata.maxpagesize=50',
    );
    const rates = new Map(Object.values(CURRENCIES).map((c) => [c.id, c.exchangerate]));
    const codes = new Set<unknown>();
    for (const row of rows) {
      const rate = rates.get(String(row._transactioncurrencyid_value));
      expect(row.exchangerate).toBe(rate);
      const base = (value: unknown) =>
        value === null ? null : Math.round(((value as number) / (rate as number)) * 100) / 100;
      expect([row.estimatedvalue_base, row.actualvalue_base]).toEqual([
        base(row.estimatedvalue),
        base(row.actualvalue),
      ]);
      codes.add(row._transactioncurrencyid_value);
    }
    // The demo sells in all three currencies.
    expect(codes.size).toBe(3);
    expect(await money(o.contosoRenewal)).toMatchObject({
      _transactioncurrencyid_value: CURRENCIES.eur.id,
      exchangerate: 0.92,
      estimatedvalue: 730_000,
      estimatedvalue_base: 793_478.26,
      actualvalue: 745_250.5,
      actualvalue_base: 810_054.89,
    });
  });

  it('a value change recomputes its _base value and is a change the delta reports', async () => {
    const { deltaLink } = await readAllPages(
      emulator,
      token,
      'opportunities?$select=name',
      'odata.track-changes',
    );
    emulator.data.update('opportunity', o.fabrikamDataCenter, { actualvalue: 790_000 });
    expect(await money(o.fabrikamDataCenter)).toMatchObject({
      actualvalue: 790_000,
      actualvalue_base: 1_000_000,
    });
    const delta = await webGet(emulator, token, deltaLink ?? '', 'odata.track-changes');
    expect(delta.json.value.map((row) => row.opportunityid)).toEqual([o.fabrikamDataCenter]);
  });

  it('a new exchange rate reaches an opportunity only when the opportunity is saved again, as in Dataverse', async () => {
    const before = emulator.data.get('opportunity', o.contosoLaptops);
    const { deltaLink } = await readAllPages(
      emulator,
      token,
      'opportunities?$select=name',
      'odata.track-changes',
    );
    emulator.data.update('transactioncurrency', CURRENCIES.eur.id, { exchangerate: 0.8 });
    // The currency changed; the opportunities in it did not.
    expect(emulator.data.get('opportunity', o.contosoLaptops)).toEqual(before);
    const quiet = await webGet(emulator, token, deltaLink ?? '', 'odata.track-changes');
    expect(quiet.json.value).toEqual([]);
    // Saving the opportunity (any column) takes the rate as it is now.
    emulator.data.update('opportunity', o.contosoLaptops, { description: 'Rate refreshed' });
    expect(await money(o.contosoLaptops)).toMatchObject({
      exchangerate: 0.8,
      estimatedvalue: 412_500,
      estimatedvalue_base: 515_625,
    });
    const delta = await webGet(emulator, token, deltaLink ?? '', 'odata.track-changes');
    expect(delta.json.value.map((row) => row.opportunityid)).toEqual([o.contosoLaptops]);
  });

  it('a currency change gives the opportunity the new currency and its rate', async () => {
    emulator.data.update('opportunity', o.litwareAudit, {
      transactioncurrencyid: currency(CURRENCIES.gbp.id),
    });
    expect(await money(o.litwareAudit)).toMatchObject({
      _transactioncurrencyid_value: CURRENCIES.gbp.id,
      exchangerate: 0.79,
      estimatedvalue: 54_500,
      estimatedvalue_base: 68_987.34,
    });
  });

  it('money without a currency gets the base currency; an opportunity without money has none', async () => {
    const priced = emulator.data.create('opportunity', { name: 'Priced', estimatedvalue: 10 });
    const unpriced = emulator.data.create('opportunity', { name: 'Not priced yet' });
    expect(await money(priced)).toMatchObject({
      _transactioncurrencyid_value: CURRENCIES.usd.id,
      exchangerate: 1,
      estimatedvalue_base: 10,
    });
    expect(await money(unpriced)).toMatchObject({
      _transactioncurrencyid_value: null,
      exchangerate: null,
      estimatedvalue_base: null,
      actualvalue_base: null,
    });
  });

  it("the base currency's rate stays 1, and a rate must be above 0", () => {
    expect(() =>
      emulator.data.update('transactioncurrency', CURRENCIES.usd.id, { exchangerate: 1.1 }),
    ).toThrow(/base currency/);
    expect(() => emulator.data.update('transactioncurrency', CURRENCIES.gbp.id, { exchangerate: 0 })).toThrow(
      /above 0/,
    );
    expect(emulator.data.get('transactioncurrency', CURRENCIES.gbp.id)?.exchangerate).toBe(0.79);
  });
});
