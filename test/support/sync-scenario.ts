import { randomUUID } from 'node:crypto';
import { CURRENCIES, DEMO } from '@oppsync/dataverse-emulator';
import type { Lookup } from '@oppsync/dataverse-emulator';
import type { RuleOptions } from '../../rules';
import type { MarketoStore, StoreSnapshot } from '../../store';
import { ExpectedStore, sortSnapshot, syncAndExpectExactStore } from './expected';
import { dryRunThenSync } from './dry-run';
import { Harness } from './harness';
import { expectExactMarketo } from './marketo-expected';

const OPTIONS: RuleOptions = { customFields: ['new_region'], filterAttribute: 'new_synctomkto' };
const contact = (id: string): Lookup => ({ id, logicalName: 'contact' });
const account = (id: string): Lookup => ({ id, logicalName: 'account' });
const currency = (id: string): Lookup => ({ id, logicalName: 'transactioncurrency' });
const o = DEMO.opportunities;
const c = DEMO.contacts;
const a = DEMO.accounts;

/**
 * The end-to-end contract (SPEC rule 7) on one store: after a full sync and after each change made in
 * Dynamics, the whole store equals what the rules compute from the organisation, row for row, and (SPEC
 * section 7) the Marketo emulator holds the same content, object by object, with leads looked up by
 * `lookupField`.
 */
export function describeSyncScenario(store: 'sqlite' | 'postgres', lookupField = 'email'): void {
  describe(`the sync into ${store} and Marketo (leads by ${lookupField})`, () => {
    let h: Harness;
    let marketo: MarketoStore;
    const expected = new ExpectedStore(OPTIONS);

    beforeAll(async () => {
      h = await Harness.start({
        store,
        env: {
          SYNC_OPPORTUNITY_FIELDS: OPTIONS.customFields.join(','),
          SYNC_FILTER_ATTRIBUTE: 'new_synctomkto',
          // Both ways of reading pages end to end: read ahead on SQLite, one at a time on PostgreSQL.
          SYNC_READ_AHEAD: String(store === 'sqlite'),
          MARKETO_LEAD_LOOKUP_FIELD: lookupField,
        },
        marketo: {},
      });
      await h.startWorker();
      marketo = await h.openStore();
    });

    afterAll(async () => {
      await marketo?.close();
      await h?.close();
    });

    // Every run of the scenario is foretold by a dry run first (SPEC section 5, `oppsync sync --dry-run`).
    const syncAndCompare = async (full = false): Promise<StoreSnapshot> => {
      const { snapshot } = (
        await dryRunThenSync(h, marketo, full, () =>
          syncAndExpectExactStore(h, marketo, expected, OPTIONS, full),
        )
      ).result;
      await expectExactMarketo(h.marketo!, snapshot, marketo, lookupField);
      return snapshot;
    };

    function masterConnection(opportunityId: string, contactId: string): string {
      const row = h.emulator.data
        .list('connection')
        .find(
          (r) =>
            (r.record1id as Lookup).id === opportunityId &&
            (r.record2id as Lookup).id === contactId &&
            r.ismaster === true,
        );
      if (row === undefined) throw new Error(`no connection from ${opportunityId} to ${contactId}`);
      return String(row.connectionid);
    }

    it('a full sync writes exactly what the rules compute, and a second run changes nothing', async () => {
      // The run's request count is exact whether pages were read ahead or not: Dynamics saw just as many.
      const before = h.emulator.stats.requests;
      const { snapshot: first } = await syncAndExpectExactStore(
        h,
        marketo,
        expected,
        OPTIONS,
        true,
        (outcome) => expect(outcome.summary.dynamicsRequests).toBe(h.emulator.stats.requests - before),
      );
      expect(first.opportunities.length).toBeGreaterThan(5);
      // The workflow ran on the worker's main thread (no isolate of its own), with the deadlock detector's 5 s.
      expect(h.worker?.worker.options).toMatchObject({ debugMode: true, isolateExecutionTimeoutMs: 5000 });
      expect(first.roles.some((r) => r.is_primary)).toBe(true);
      expect(first.roles.some((r) => !r.is_primary)).toBe(true);
      await expectExactMarketo(h.marketo!, first, marketo, lookupField);
      expect(h.marketo!.data.roles().length).toBeGreaterThan(5);
      // Nothing changed in Dynamics: no Marketo call at all (describes are cached), not even a token.
      const callsBefore = h.marketo!.stats.calls;
      const again = await h.sync();
      expect(again.summary.opportunitiesUpserted).toBe(0);
      expect(again.summary.marketo).toEqual({ sent: 0, accepted: 0, skipped: 0, calls: 0, paused: false });
      expect(h.marketo!.stats.calls).toBe(callsBefore);
      expect(sortSnapshot(await marketo.snapshot())).toEqual(first);
      // A full resync of the unchanged organisation rewrites the mirror, and writes nothing to Marketo.
      const full = await h.sync(true);
      expect(full.summary.marketo?.sent).toBe(0);
      expect(h.marketo!.stats.log.slice(callsBefore).filter((call) => call.method === 'POST')).toEqual([]);
      await expectExactMarketo(h.marketo!, sortSnapshot(await marketo.snapshot()), marketo, lookupField);
    });

    /** The money columns of every synced opportunity, as the store holds them and as Dynamics does. */
    function moneyAsStoredAndAsInDynamics(snapshot: StoreSnapshot) {
      const codes = new Map(
        h.emulator.data
          .list('transactioncurrency')
          .map((row) => [row.transactioncurrencyid, row.isocurrencycode]),
      );
      // A column a row never had is null in the Web API, as in the store.
      const inDynamics = h.emulator.data
        .list('opportunity')
        // The sync filter leaves these as they were last synced.
        .filter((row) => row.new_synctomkto !== false)
        .map((row) => ({
          id: row.opportunityid,
          currency: codes.get((row.transactioncurrencyid as Lookup | null)?.id) ?? null,
          amount: row.estimatedvalue ?? null,
          actual_amount: row.actualvalue ?? null,
          amount_base: row.estimatedvalue_base ?? null,
          actual_amount_base: row.actualvalue_base ?? null,
        }))
        .sort((x, y) => String(x.id).localeCompare(String(y.id)));
      const ids = new Set(inDynamics.map((row) => row.id));
      const stored = snapshot.opportunities
        .filter((row) => ids.has(row.external_opportunity_id))
        .map((row) => ({
          id: row.external_opportunity_id,
          currency: row.currency,
          amount: row.amount,
          actual_amount: row.actual_amount,
          amount_base: row.amount_base,
          actual_amount_base: row.actual_amount_base,
        }))
        .sort((x, y) => x.id.localeCompare(y.id));
      return { stored, inDynamics };
    }

    const storedRow = (snapshot: StoreSnapshot, id: string) =>
      snapshot.opportunities.find((row) => row.external_opportunity_id === id);

    /** One run, compared with the rules' result and, for the money columns, with what Dynamics holds. */
    async function syncAndCompareMoney(): Promise<StoreSnapshot> {
      const after = await syncAndCompare();
      const { stored, inDynamics } = moneyAsStoredAndAsInDynamics(after);
      expect(stored).toEqual(inDynamics);
      return after;
    }

    it('money in three currencies: each opportunity has its currency and its amounts in the base currency', async () => {
      const { stored, inDynamics } = moneyAsStoredAndAsInDynamics(await marketo.snapshot());
      expect(stored).toEqual(inDynamics);
      expect(new Set(stored.map((row) => row.currency))).toEqual(new Set(['USD', 'EUR', 'GBP']));
      expect(stored.find((row) => row.id === o.contosoRenewal)).toEqual({
        id: o.contosoRenewal,
        currency: 'EUR',
        amount: 730_000,
        actual_amount: 745_250.5,
        amount_base: 793_478.26,
        actual_amount_base: 810_054.89,
      });
    });

    it('a value change in a foreign currency reaches amount and amount_base', async () => {
      h.emulator.data.update('opportunity', o.contosoRenewal, {
        estimatedvalue: 920_000,
        actualvalue: 460_000,
      });
      const after = await syncAndCompareMoney();
      expect(storedRow(after, o.contosoRenewal)).toMatchObject({
        amount: 920_000,
        actual_amount: 460_000,
        amount_base: 1_000_000,
        actual_amount_base: 500_000,
      });
    });

    it("an exchange-rate change reaches amount_base when Dynamics next saves the currency's opportunities", async () => {
      const before = await marketo.snapshot();
      h.emulator.data.update('transactioncurrency', CURRENCIES.gbp.id, { exchangerate: 0.8 });
      // Dataverse recalculates an opportunity's base values only when the opportunity is saved: none changed yet.
      let after = await syncAndCompareMoney();
      expect(moneyAsStoredAndAsInDynamics(after).stored).toEqual(moneyAsStoredAndAsInDynamics(before).stored);
      const inPounds = h.emulator.data
        .list('opportunity')
        .filter((row) => (row.transactioncurrencyid as Lookup | null)?.id === CURRENCIES.gbp.id)
        .map((row) => String(row.opportunityid));
      expect(inPounds).toEqual(expect.arrayContaining([o.fabrikamDataCenter, o.adventureServicePlan]));
      for (const id of inPounds) h.emulator.data.update('opportunity', id, {});
      after = await syncAndCompareMoney();
      expect(storedRow(after, o.fabrikamDataCenter)).toMatchObject({
        currency: 'GBP',
        amount: 1_250_000,
        amount_base: 1_562_500,
        actual_amount: 1_180_000,
        actual_amount_base: 1_475_000,
      });
    });

    it('a currency change reaches currency and amount_base; an opportunity without money has no currency', async () => {
      h.emulator.data.update('opportunity', o.sidneyRetainer, {
        transactioncurrencyid: currency(CURRENCIES.eur.id),
      });
      const unpriced = h.emulator.data.create('opportunity', {
        name: 'Not priced yet',
        customerid: account(a.litware),
        statecode: 0,
        statuscode: 1,
        new_region: 'EMEA',
      });
      const after = await syncAndCompareMoney();
      expect(storedRow(after, o.sidneyRetainer)).toMatchObject({
        currency: 'EUR',
        amount: 36_000,
        amount_base: 39_130.43,
      });
      expect(storedRow(after, unpriced)).toMatchObject({ currency: null, amount: null, amount_base: null });
    });

    it('an opportunity in a currency the organisation does not name is a sync error; the rest syncs', async () => {
      const created = h.emulator.data.create('opportunity', {
        name: 'Deal in an unknown currency',
        customerid: account(a.contoso),
        estimatedvalue: 5_000,
        statecode: 0,
        statuscode: 1,
      });
      const unknown = randomUUID();
      // A row no Dataverse keeps (its currency must exist there), served as another implementation might.
      h.emulator.faults.serveColumns('opportunity', created, { _transactioncurrencyid_value: unknown });
      h.emulator.data.update('opportunity', o.reneSubscription, { estimatedvalue: 1_300 });
      let after = await syncAndCompare();
      expect(storedRow(after, created)).toBeUndefined();
      expect(after.syncErrors).toContainEqual(
        expect.objectContaining({
          entity: 'opportunity',
          record_id: created,
          error: `_transactioncurrencyid_value ${unknown} is not a currency of transactioncurrencies`,
        }),
      );
      expect(storedRow(after, o.reneSubscription)).toMatchObject({ amount: 1_300, currency: 'USD' });
      // Served as Dataverse keeps it again and saved: written, and its error closed.
      h.emulator.faults.serveColumns('opportunity', created, null);
      h.emulator.data.update('opportunity', created, { description: 'Priced in US dollars' });
      after = await syncAndCompareMoney();
      expect(storedRow(after, created)).toMatchObject({ currency: 'USD', amount: 5_000, amount_base: 5_000 });
      expect(after.syncErrors.filter((e) => e.record_id === created)).toEqual([]);
    });

    it('field updates reach the store', async () => {
      h.emulator.data.update('opportunity', o.contosoLaptops, {
        name: '600 Laptops for Contoso field staff',
        estimatedvalue: 912_345.5,
        statecode: 1,
        statuscode: 3,
        salesstage: 3,
        new_region: 'APAC',
      });
      const after = await syncAndCompare();
      const row = after.opportunities.find((r) => r.external_opportunity_id === o.contosoLaptops);
      expect(row).toMatchObject({
        name: '600 Laptops for Contoso field staff',
        stage: 'Won',
        is_won: true,
        is_closed: true,
      });
    });

    it('a customer switched from contact to account and back loses and regains its primary role', async () => {
      h.emulator.data.update('opportunity', o.sidneyRetainer, { customerid: account(a.fabrikam) });
      let after = await syncAndCompare();
      expect(
        after.roles.filter((r) => r.external_opportunity_id === o.sidneyRetainer && r.is_primary),
      ).toEqual([]);
      h.emulator.data.update('opportunity', o.sidneyRetainer, { customerid: contact(c.rene) });
      h.emulator.data.update('opportunity', o.fabrikamDataCenter, { customerid: contact(c.jim) });
      after = await syncAndCompare();
      expect(
        after.roles.filter((r) => r.external_opportunity_id === o.sidneyRetainer && r.is_primary),
      ).toHaveLength(1);
    });

    it("a contact's new parent account becomes the company of the opportunities it is the customer of", async () => {
      h.emulator.data.update('contact', c.maria, { parentcustomerid: account(a.litware) });
      const after = await syncAndCompare();
      const row = after.opportunities.find((r) => r.external_opportunity_id === o.contosoLaptops);
      expect(row?.external_company_id).toBe(a.litware);
    });

    it('stakeholders added, deactivated and deleted in Dynamics are mirrored', async () => {
      h.emulator.data.connect(
        { id: o.contosoLaptops, logicalName: 'opportunity' },
        contact(c.thomas),
        h.emulator.data.roleId('Champion'),
      );
      h.emulator.data.setConnectionState(masterConnection(o.adventureFleet, c.nancy), 1);
      h.emulator.data.disconnect(masterConnection(o.contosoRenewal, c.susanna));
      const after = await syncAndCompare();
      expect(after.roles).toContainEqual({
        external_opportunity_id: o.contosoLaptops,
        dynamics_contact_id: c.thomas,
        role: 'Champion',
        is_primary: false,
      });
      expect(
        after.roles.some(
          (r) => r.external_opportunity_id === o.contosoRenewal && r.dynamics_contact_id === c.susanna,
        ),
      ).toBe(false);
    });

    it('deleted opportunities keep their row marked deleted, created ones appear', async () => {
      h.emulator.data.remove('opportunity', o.tailspinPilot);
      const created = h.emulator.data.create('opportunity', {
        name: 'Adventure Works spare parts',
        customerid: contact(c.nancy),
        estimatedvalue: 4_200,
        estimatedclosedate: '2025-09-30',
        statecode: 0,
        statuscode: 1,
        salesstage: 0,
        new_region: 'NA',
      });
      h.emulator.data.connect(
        { id: created, logicalName: 'opportunity' },
        contact(c.maria),
        h.emulator.data.roleId('Economic Buyer'),
      );
      const after = await syncAndCompare();
      expect(after.opportunities.find((r) => r.external_opportunity_id === o.tailspinPilot)?.is_deleted).toBe(
        true,
      );
      expect(after.opportunities.find((r) => r.external_opportunity_id === created)?.is_deleted).toBe(false);
    });

    it('the sync filter: switched off keeps the last synced row, switched back on syncs again', async () => {
      h.emulator.data.update('opportunity', o.northwindAnalytics, {
        new_synctomkto: false,
        name: 'Renamed while filtered out',
      });
      let after = await syncAndCompare();
      expect(
        after.opportunities.find((r) => r.external_opportunity_id === o.northwindAnalytics)?.name,
      ).not.toBe('Renamed while filtered out');
      h.emulator.data.update('opportunity', o.northwindAnalytics, { new_synctomkto: true });
      after = await syncAndCompare();
      expect(after.opportunities.find((r) => r.external_opportunity_id === o.northwindAnalytics)?.name).toBe(
        'Renamed while filtered out',
      );
    });

    it('a full resync after all those changes finds nothing to correct', async () => {
      const before = sortSnapshot(await marketo.snapshot());
      const after = await syncAndCompare(true);
      expect(after).toEqual(before);
    });
  });
}
