/**
 * Contacts and accounts are read once per run: a later page points to what an earlier page of the same run
 * wrote, as the store records it (sync_run_written), on whichever worker it runs. The activities run in order as
 * the workflow runs them, against the emulator and a SQLite store; the store ends up exactly as the rules say
 * over the whole organisation.
 */
import pino from 'pino';
import {
  createSyncActivities,
  PagePrefetch,
  READ_IDLE_MS,
  READS_AHEAD_PER_RUN,
  RunState,
  RunStates,
  type ReadAheadPage,
} from '../activities';
import type { AppConfig } from '../config';
import type { RuleOptions } from '../rules';
import type { MarketoStore } from '../store';
import { ExpectedStore, readOrganisation, sortSnapshot } from './support/expected';
import { freshSqliteStore, fullSyncInOrder, generatedOrganisation } from './support/activities';

const OPTIONS: RuleOptions = { customFields: [], filterAttribute: undefined };
const PAGE_SIZE = 10;

describe('RunStates', () => {
  it('keeps each run on its own, drops the oldest run past its bound and ends a run on request', () => {
    const runs = new RunStates({ maxRuns: 2, readAhead: () => undefined });
    const a = runs.of('a');
    const b = runs.of('b');
    expect(runs.of('a')).toBe(a);
    expect(b).not.toBe(a);
    const c = runs.of('c');
    expect(runs.size).toBe(2);
    expect(runs.of('b')).toBe(b);
    expect(runs.of('c')).toBe(c);
    expect(a.ended).toBe(true);
    runs.end('c');
    expect(runs.size).toBe(1);
    expect(c.ended).toBe(true);
    expect(runs.of('c')).not.toBe(c);
    expect(runs.of('a')).not.toBe(a);
  });

  it('ends every run once the pages they read ahead are in, so that none outlives the worker', async () => {
    const runs = new RunStates({ readAhead: () => new PagePrefetch<ReadAheadPage>() });
    const a = runs.of('a');
    let finish!: () => void;
    a.readAhead('read')!.start(
      'page-2',
      () =>
        new Promise<ReadAheadPage>((resolve) => {
          finish = () =>
            resolve({ value: { input: undefined, skipped: 0, records: 0, deleted: 0 }, requests: 1 });
        }),
    );
    let ended = false;
    const ending = runs.endAll().then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect([ended, runs.size, a.ended]).toEqual([false, 0, true]);
    finish();
    await ending;
    expect(ended).toBe(true);
  });
  it('gives each read of a run its own read-ahead, up to a bound; a read that ends or idles gives its place', async () => {
    let now = 0;
    const run = new RunState(
      'a',
      () => new PagePrefetch<ReadAheadPage>(),
      () => now,
    );
    const first = run.readAhead('read-0');
    expect(run.readAhead('read-0')).toBe(first);
    let finish!: () => void;
    first!.start(
      'page-2',
      () =>
        new Promise<ReadAheadPage>((resolve) => {
          finish = () =>
            resolve({ value: { input: undefined, skipped: 0, records: 0, deleted: 0 }, requests: 1 });
        }),
    );
    const others = Array.from({ length: READS_AHEAD_PER_RUN - 1 }, (_, i) => run.readAhead(`read-${i + 1}`));
    expect(new Set([first, ...others]).size).toBe(READS_AHEAD_PER_RUN);
    // Every place is taken: a further read is not read ahead, and nobody's pages are dropped for it.
    expect(run.readAhead('read-new')).toBeUndefined();
    expect(first!.size).toBe(1);
    // A read that came to its last page gives its place.
    run.readDone('read-1');
    const fresh = run.readAhead('read-new');
    expect(fresh).toBeDefined();
    expect(run.readAhead('read-1')).toBeUndefined();
    // A read no activity used for READ_IDLE_MS gives its place; the one used meanwhile keeps its own.
    now += READ_IDLE_MS / 2;
    run.readAhead('read-0');
    now += READ_IDLE_MS / 2 + 1;
    expect(run.readAhead('read-1')).toBeDefined();
    expect(run.readAhead('read-0')).toBe(first);
    expect(run.readAhead('read-2')).not.toBe(others[1]);
    // The run's end waits for the page still under way.
    let ended = false;
    const ending = run.end().then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    finish();
    await ending;
    expect(ended).toBe(true);
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

  /** Records the ids of every contact and account read from Dynamics while `run` runs. */
  async function readsDuring(run: (read: { contacts: string[]; accounts: string[] }) => Promise<void>) {
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
      await run(read);
    } finally {
      spy.mockRestore();
    }
  }

  const twice = (ids: string[]) => ids.filter((id, index) => ids.indexOf(id) !== index);

  /** The pages of a full sync, each on the next of `workers` in turn; finishSync on the first. */
  async function pagesInTurn(
    workers: ReturnType<typeof createSyncActivities>[],
    syncId: string,
    beforeFinish: () => Promise<void> = () => Promise.resolve(),
  ): Promise<void> {
    const begun = await workers[0]!.beginSync({ syncId, full: true });
    let turn = 0;
    for (let cursor: string | undefined = begun.cursor; cursor !== undefined; turn += 1) {
      const worker = workers[turn % workers.length]!;
      cursor = (await worker.syncOpportunityPage({ syncId, mode: 'full', cursor })).nextCursor;
    }
    await beforeFinish();
    await workers[0]!.finishSync({ syncId, mode: 'full' });
  }

  it('a later page points to what an earlier one wrote; the store is exact; the next run reads afresh', async () => {
    await withActivities(async ({ store, activities }) => {
      const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
      const leads = new Set(expected.leads.map((lead) => lead.dynamics_contact_id));
      const companies = new Set(expected.companies.map((company) => company.external_company_id));
      await readsDuring(async (read) => {
        await pagesInTurn([activities], 'run-1', async () => {
          // Every lead and company the run wrote is on record for its later pages, until it ends.
          expect(await store.runWritten.count('run-1')).toBe(leads.size + companies.size);
        });
        expect(await store.runWritten.count('run-1')).toBe(0);
        expect(sortSnapshot(await store.snapshot())).toEqual(expected);
        // Every lead and company was read once; an id read twice is one Dynamics did not return (no lead).
        expect(twice(read.contacts).filter((id) => leads.has(id))).toEqual([]);
        expect(twice(read.accounts).filter((id) => companies.has(id))).toEqual([]);
        expect(new Set(read.contacts).size).toBeGreaterThanOrEqual(leads.size);
      });

      // Generated pages share contacts and accounts: with no record of what the run wrote, some are read again.
      const none = jest.spyOn(store.runWritten, 'contacts').mockResolvedValue(new Map());
      try {
        await readsDuring(async (read) => {
          await fullSyncInOrder(activities, 'run-2');
          expect([...leads].filter((id) => !read.contacts.includes(id))).toEqual([]);
          expect(twice(read.contacts).filter((id) => leads.has(id)).length).toBeGreaterThan(0);
        });
      } finally {
        none.mockRestore();
      }
      expect(sortSnapshot(await store.snapshot())).toEqual(expected);
    });
  });

  it('two workers of one run share what it wrote: neither reads a contact or account the other wrote', async () => {
    await withActivities(async ({ store, activities, config }) => {
      const other = createSyncActivities({
        store,
        dynamics: org.dynamics,
        sync: config.sync,
        logger: pino({ level: 'silent' }),
        runs: new RunStates({ readAhead: () => undefined }),
      });
      const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
      const leads = new Set(expected.leads.map((lead) => lead.dynamics_contact_id));
      const companies = new Set(expected.companies.map((company) => company.external_company_id));
      await readsDuring(async (read) => {
        await pagesInTurn([activities, other], 'run-5');
        expect(twice(read.contacts).filter((id) => leads.has(id))).toEqual([]);
        expect(twice(read.accounts).filter((id) => companies.has(id))).toEqual([]);
      });
      expect(sortSnapshot(await store.snapshot())).toEqual(expected);
    });
  });

  it('a page whose write fails leaves no record of what it wrote: its retry reads and writes it all again', async () => {
    await withActivities(async ({ store, activities }) => {
      const syncId = 'run-4';
      const begun = await activities.beginSync({ syncId, full: true });
      const first = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: begun.cursor });
      const recorded = await store.runWritten.count(syncId);
      expect(recorded).toBeGreaterThan(0);
      // The next page's write fails at the record of what it wrote, before its own transaction.
      await store.knex.raw('create table fail_run_written (n integer)');
      await store.knex.raw('insert into fail_run_written values (1)');
      await store.knex.raw(
        `create trigger fail_once before insert on sync_run_written
         when (select count(*) from fail_run_written) > 0
         begin select raise(abort, 'injected failure'); end`,
      );
      const before = await store.snapshot();
      await expect(
        activities.syncOpportunityPage({ syncId, mode: 'full', cursor: first.nextCursor! }),
      ).rejects.toThrow('injected failure');
      expect(await store.runWritten.count(syncId)).toBe(recorded);
      // Its leads were committed before the record (store/page-writer.ts); its own rows never were.
      const after = await store.snapshot();
      expect(after.leads.length).toBeGreaterThan(before.leads.length);
      expect(after.opportunities).toEqual(before.opportunities);
      expect(after.roles).toEqual(before.roles);
      await store.knex.raw('delete from fail_run_written');
      for (let cursor = first.nextCursor; cursor !== undefined;) {
        cursor = (await activities.syncOpportunityPage({ syncId, mode: 'full', cursor })).nextCursor;
      }
      await activities.finishSync({ syncId, mode: 'full' });
      const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
      expect(sortSnapshot(await store.snapshot())).toEqual(expected);
    });
  });

  it('a lead deleted from the store during a run is read and written again by the next page that points to it', async () => {
    await withActivities(async ({ store, activities }) => {
      const syncId = 'run-3';
      const begun = await activities.beginSync({ syncId, full: true });
      const first = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: begun.cursor });
      const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
      const firstPage = new Set((await store.snapshot()).opportunities.map((o) => o.external_opportunity_id));
      const later = <T extends { external_opportunity_id: string }>(rows: T[]) =>
        rows.filter((row) => !firstPage.has(row.external_opportunity_id));
      // A contact the first page wrote that a later page has a role for: that page would point to its lead.
      const recorded = new Set(
        (
          (await store.knex('sync_run_written').where({ sync_id: syncId, entity: 'contact' })) as {
            record_id: string;
          }[]
        ).map((row) => row.record_id),
      );
      const contactId = later(expected.roles).find((role) =>
        recorded.has(role.dynamics_contact_id),
      )?.dynamics_contact_id;
      expect(contactId).toBeDefined();
      await store.knex('leads').where({ dynamics_contact_id: contactId }).delete();

      await readsDuring(async (read) => {
        for (let cursor = first.nextCursor; cursor !== undefined;) {
          cursor = (await activities.syncOpportunityPage({ syncId, mode: 'full', cursor })).nextCursor;
        }
        expect(read.contacts).toContain(contactId);
      });
      await activities.finishSync({ syncId, mode: 'full' });

      const snapshot = sortSnapshot(await store.snapshot());
      expect(snapshot.leads).toEqual(expected.leads);
      // The first page's roles for that lead went with it (the deletion cascades); every later page is exact.
      expect(later(snapshot.roles)).toEqual(later(expected.roles));
      expect(later(snapshot.opportunities)).toEqual(later(expected.opportunities));
    });
  });
});
