/**
 * Contacts and accounts are read once per run: a later page points to what an earlier page of the same run
 * wrote. The activities run in order as the workflow runs them, against the emulator over https and a SQLite
 * store; the store ends up exactly as the rules say over the whole organisation.
 */
import pino from 'pino';
import { createSyncActivities, RunStates } from '../activities';
import { RunWrites } from '../activities/run-state';
import type { AppConfig } from '../config';
import type { RuleOptions } from '../rules';
import type { MarketoStore } from '../store';
import { ExpectedStore, readOrganisation, sortSnapshot } from './support/expected';
import { freshSqliteStore, fullSyncInOrder, generatedOrganisation } from './support/activities';

const OPTIONS: RuleOptions = { customFields: [], filterAttribute: undefined };
const PAGE_SIZE = 10;

describe('RunStates', () => {
  const [c1, c2, c3, a1, a2, a3] = [1, 2, 3, 4, 5, 6].map(
    (n) => `0000000${n}-aaaa-4bbb-8ccc-dddddddddddd`,
  ) as [string, string, string, string, string, string];

  it('keeps each run on its own, drops the oldest run past its bound and ends a run on request', () => {
    const runs = new RunStates({ maxRuns: 2, maxIds: 100 });
    runs.of('a').written.remember({ contacts: [[c1, a1]], accounts: [a1] });
    runs.of('b').written.remember({ contacts: [[c2, null]], accounts: [] });
    expect(runs.of('a').written.contacts.get(c1)).toBe(a1);
    expect(runs.of('a').written.contacts.has(c2)).toBe(false);
    expect(runs.of('b').written.contacts.get(c2)).toBeNull();
    expect(runs.of('b').written.contacts.has(c1)).toBe(false);
    const b = runs.of('b');
    runs.of('c').written.remember({ contacts: [], accounts: [a3] });
    expect(runs.size).toBe(2);
    expect(runs.of('b')).toBe(b);
    expect(runs.of('c').written.accounts.has(a3)).toBe(true);
    expect(runs.of('c').written.size).toBe(1);
    runs.end('c');
    expect(runs.size).toBe(1);
    expect(runs.of('c').written.size).toBe(0);
    expect(runs.of('a').written.size).toBe(0);
  });

  it('stops remembering a run at its bound of ids: past it, pages read what they need', () => {
    const written = new RunWrites(3);
    written.remember({
      contacts: [
        [c1, null],
        [c2, null],
      ],
      accounts: [a1, a2],
    });
    written.remember({ contacts: [[c3, null]], accounts: [] });
    expect([c1, c2, c3].map((id) => written.contacts.has(id))).toEqual([true, true, false]);
    expect([a1, a2].map((id) => written.accounts.has(id))).toEqual([true, false]);
  });
});

describe('a full sync reads each contact and account once', () => {
  const org = generatedOrganisation({ opportunities: 45, seed: 5, pageSize: PAGE_SIZE });

  /** A fresh SQLite store and the activities over it, in order with no read-ahead (each page is resolved after
   * the one before it has committed), for `test`; the store is closed and removed after it. */
  async function withActivities(
    test: (context: {
      store: MarketoStore;
      activities: ReturnType<typeof createSyncActivities>;
      runs: RunStates;
      config: AppConfig;
    }) => Promise<void>,
  ): Promise<void> {
    const { store, config, close } = await freshSqliteStore({
      SYNC_PAGE_SIZE: String(PAGE_SIZE),
      SYNC_READ_AHEAD: 'false',
    });
    try {
      const runs = new RunStates({ readAhead: () => undefined });
      const activities = createSyncActivities({
        store,
        dynamics: org.dynamics,
        sync: config.sync,
        logger: pino({ level: 'silent' }),
        runs,
      });
      await test({ store, activities, runs, config });
    } finally {
      await close();
    }
  }

  it('a later page points to what an earlier one wrote; the store is exact; the next run reads afresh', async () => {
    await withActivities(async ({ store, activities, runs, config }) => {
      const read = { contacts: [] as string[], accounts: [] as string[] };
      const getByIds = org.dynamics.getByIds.bind(org.dynamics);
      const spy = jest
        .spyOn(org.dynamics, 'getByIds')
        .mockImplementation((entitySet, property, ids, ...rest) => {
          if (entitySet === 'contacts') read.contacts.push(...ids);
          if (entitySet === 'accounts') read.accounts.push(...ids);
          return getByIds(entitySet, property, ids, ...rest);
        });
      try {
        // The run's state, looked at after finishSync has ended it on the worker.
        const run1 = runs.of('run-1');
        await fullSyncInOrder(activities, 'run-1');
        const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
        expect(sortSnapshot(await store.snapshot())).toEqual(expected);
        // Every lead and company was read once; an id read twice is one Dynamics did not return (no lead).
        const leads = new Set(expected.leads.map((lead) => lead.dynamics_contact_id));
        const companies = new Set(expected.companies.map((company) => company.external_company_id));
        const twice = (ids: string[]) => ids.filter((id, index) => ids.indexOf(id) !== index);
        expect(twice(read.contacts).filter((id) => leads.has(id))).toEqual([]);
        expect(twice(read.accounts).filter((id) => companies.has(id))).toEqual([]);
        expect(new Set(read.contacts).size).toBeGreaterThanOrEqual(leads.size);
        // Generated pages share contacts and accounts, so without the run's memory some would be read again.
        expect(run1.written.contacts.size).toBe(leads.size);
        expect(run1.written.accounts.size).toBe(companies.size);

        // Another run reads everything again; with no memory at all, pages read shared contacts again.
        read.contacts.length = 0;
        const forgetful = createSyncActivities({
          store,
          dynamics: org.dynamics,
          sync: config.sync,
          logger: pino({ level: 'silent' }),
          runs: new RunStates({ maxIds: 0, readAhead: () => undefined }),
        });
        await fullSyncInOrder(forgetful, 'run-2');
        expect([...leads].filter((id) => !read.contacts.includes(id))).toEqual([]);
        expect(twice(read.contacts).filter((id) => leads.has(id)).length).toBeGreaterThan(0);
        expect(sortSnapshot(await store.snapshot())).toEqual(expected);
      } finally {
        spy.mockRestore();
      }
    });
  });

  it('a page that was reading when the run forgot (a failed write of another page) still writes what it pointed to', async () => {
    await withActivities(async ({ store, activities, runs }) => {
      const syncId = 'run-4';
      const begun = await activities.beginSync({ syncId, full: true });
      let cursor = (await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: begun.cursor }))
        .nextCursor;
      const getByIds = org.dynamics.getByIds.bind(org.dynamics);
      // Each page's contacts arrive just as another page's write fails and the run forgets what it wrote.
      const spy = jest.spyOn(org.dynamics, 'getByIds').mockImplementation(async (entitySet, ...rest) => {
        const rows = await getByIds(entitySet, ...rest);
        if (entitySet === 'contacts') {
          forgotten += runs.of(syncId).written.contacts.size;
          runs.of(syncId).written.forget();
        }
        return rows;
      });
      let forgotten = 0;
      try {
        while (cursor !== undefined) {
          cursor = (await activities.syncOpportunityPage({ syncId, mode: 'full', cursor })).nextCursor;
        }
      } finally {
        spy.mockRestore();
      }
      await activities.finishSync({ syncId, mode: 'full' });
      expect(forgotten).toBeGreaterThan(0);
      const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
      expect(sortSnapshot(await store.snapshot())).toEqual(expected);
    });
  });

  it('a lead deleted from the store during a run fails one page; the run forgets and the retry writes it again', async () => {
    await withActivities(async ({ store, activities, runs }) => {
      const syncId = 'run-3';
      const begun = await activities.beginSync({ syncId, full: true });
      const first = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: begun.cursor });
      const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
      const firstPage = new Set((await store.snapshot()).opportunities.map((o) => o.external_opportunity_id));
      const later = <T extends { external_opportunity_id: string }>(rows: T[]) =>
        rows.filter((row) => !firstPage.has(row.external_opportunity_id));
      // A contact the first page wrote that a later page has a role for: that page will point to its lead.
      const contactId = later(expected.roles).find((role) =>
        runs.of(syncId).written.contacts.has(role.dynamics_contact_id),
      )?.dynamics_contact_id;
      expect(contactId).toBeDefined();
      await store.knex('leads').where({ dynamics_contact_id: contactId }).delete();

      const failures: string[] = [];
      for (let cursor = first.nextCursor; cursor !== undefined;) {
        try {
          cursor = (await activities.syncOpportunityPage({ syncId, mode: 'full', cursor })).nextCursor;
        } catch (error) {
          failures.push((error as Error).message);
          expect(runs.of(syncId).written.contacts.size).toBe(0);
          if (failures.length > 3) break;
        }
      }
      await activities.finishSync({ syncId, mode: 'full' });

      expect(failures).toEqual([expect.stringContaining('STORE_LEAD_MISSING')]);
      const snapshot = sortSnapshot(await store.snapshot());
      expect(snapshot.leads).toEqual(expected.leads);
      // The first page's roles for that lead went with it (the deletion cascades); every later page is exact.
      expect(later(snapshot.roles)).toEqual(later(expected.roles));
      expect(later(snapshot.opportunities)).toEqual(later(expected.opportunities));
    });
  });
});
