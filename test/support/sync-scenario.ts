import { DEMO } from '../../emulator';
import type { Lookup } from '../../emulator';
import type { RuleOptions } from '../../rules';
import type { MarketoStore, StoreSnapshot } from '../../store';
import { ExpectedStore, sortSnapshot, syncAndExpectExactStore } from './expected';
import { Harness } from './harness';

const OPTIONS: RuleOptions = { customFields: ['new_region'], filterAttribute: 'new_synctomkto' };
const contact = (id: string): Lookup => ({ id, logicalName: 'contact' });
const account = (id: string): Lookup => ({ id, logicalName: 'account' });
const o = DEMO.opportunities;
const c = DEMO.contacts;
const a = DEMO.accounts;

/**
 * The end-to-end contract (SPEC rule 7) on one store: after a full sync and after each change made in
 * Dynamics, the whole store equals what the rules compute from the organisation, row for row.
 */
export function describeSyncScenario(store: 'sqlite' | 'postgres'): void {
  describe(`the sync into ${store}`, () => {
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
        },
      });
      await h.startWorker();
      marketo = await h.openStore();
    });

    afterAll(async () => {
      await marketo?.close();
      await h?.close();
    });

    const syncAndCompare = async (full = false): Promise<StoreSnapshot> =>
      (await syncAndExpectExactStore(h, marketo, expected, OPTIONS, full)).snapshot;

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
      const again = await h.sync();
      expect(again.summary.opportunitiesUpserted).toBe(0);
      expect(sortSnapshot(await marketo.snapshot())).toEqual(first);
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
