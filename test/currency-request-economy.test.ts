/**
 * What the currencies cost in Web API requests: the transactioncurrencies table is read once a run, as a part of
 * the $batch that reads the connection roles, so a run makes as many requests as it did before currencies; the
 * activities run in order as the workflow runs them, against the emulator over https and a SQLite store.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createSyncActivities } from '../activities';
import type { RequestLogEntry } from '@oppsync/dataverse-emulator';
import type { RuleOptions } from '../rules';
import { ExpectedStore, readOrganisation, sortSnapshot } from './support/expected';
import { freshSqliteStore, fullSyncInOrder, generatedOrganisation } from './support/activities';

const OPTIONS: RuleOptions = { customFields: [], filterAttribute: undefined };
const PAGE_SIZE = 10;

const org = generatedOrganisation({ opportunities: 45, seed: 23, pageSize: PAGE_SIZE });

async function setUp(readAhead: boolean) {
  const { store, config, close } = await freshSqliteStore({
    SYNC_PAGE_SIZE: String(PAGE_SIZE),
    SYNC_READ_AHEAD: String(readAhead),
  });
  const activities = createSyncActivities({
    store,
    dynamics: org.dynamics,
    sync: config.sync,
    logger: pino({ level: 'silent' }),
  });
  return { store, activities, close };
}

/** The requests logged since `from` (a $batch's parts are logged as well as the $batch itself). */
const loggedSince = (from: number): RequestLogEntry[] => org.emulator.stats.log.slice(from);
const reads = (log: RequestLogEntry[], entitySet: string): RequestLogEntry[] =>
  log.filter((entry) => entry.path.endsWith(`/api/data/v9.2/${entitySet}`));

/** Ids of the generated opportunities in key order, the order in which a full sync pages them. */
const opportunityIds = (): string[] =>
  org.emulator.data
    .list('opportunity')
    .map((row) => String(row.opportunityid))
    .sort();

it('a full and an incremental run each read the currency table once, in the $batch that reads the connection roles', async () => {
  const { store, activities, close } = await setUp(true);
  try {
    const from = org.emulator.stats.log.length;
    const requestsBefore = org.emulator.stats.requests;
    const reported = await fullSyncInOrder(activities, 'economy-full');
    expect(reported).toBe(org.emulator.stats.requests - requestsBefore);
    const log = loggedSince(from);
    const [currencies, ...moreCurrencies] = reads(log, 'transactioncurrencies');
    const [roles] = reads(log, 'connectionroles');
    expect(moreCurrencies).toEqual([]);
    // A part of a $batch (not a request of its own), the same one that read the connection roles.
    expect(currencies?.batch).toBeDefined();
    expect(currencies?.batch).toBe(roles?.batch);
    expect(
      log.filter((entry) => entry.batch === undefined && entry.path.endsWith('transactioncurrencies')),
    ).toEqual([]);
    // Five pages: the currencies came with the first, and the store holds every opportunity's currency.
    const snapshot = sortSnapshot(await store.snapshot());
    expect(snapshot.opportunities).toHaveLength(45);
    expect(new Set(snapshot.opportunities.map((row) => row.currency))).toEqual(
      new Set(['USD', 'EUR', 'GBP']),
    );
    expect(snapshot).toEqual(new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS)));

    const [first, second] = opportunityIds();
    org.emulator.data.update('opportunity', first ?? '', { estimatedvalue: 12_345 });
    org.emulator.data.update('opportunity', second ?? '', { name: 'Renamed' });
    const incrementalFrom = org.emulator.stats.log.length;
    const begun = await activities.beginSync({ syncId: 'economy-incremental', full: false });
    expect(begun.mode).toBe('incremental');
    for (let cursor: string | undefined = begun.cursor; cursor !== undefined;) {
      const page = await activities.syncOpportunityPage({
        syncId: 'economy-incremental',
        mode: 'incremental',
        cursor,
      });
      cursor = page.nextCursor;
    }
    await activities.syncPendingBatch({ syncId: 'economy-incremental', mode: 'incremental' });
    await activities.finishSync({ syncId: 'economy-incremental', mode: 'incremental' });
    expect(reads(loggedSince(incrementalFrom), 'transactioncurrencies')).toHaveLength(1);
  } finally {
    await close();
  }
});

it('pages retried after a failure and pages of a run continued as new (the same sync id) read it no more', async () => {
  const { activities, close } = await setUp(false);
  try {
    const syncId = 'economy-retried';
    const from = org.emulator.stats.log.length;
    const begun = await activities.beginSync({ syncId, full: true });
    const first = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: begun.cursor ?? '' });
    expect(reads(loggedSince(from), 'transactioncurrencies')).toHaveLength(1);
    // The next page's first request fails: its activity fails and Temporal runs it again.
    org.emulator.faults.failNext(1, 503);
    await expect(
      activities.syncOpportunityPage({ syncId, mode: 'full', cursor: first.nextCursor ?? '' }),
    ).rejects.toThrow();
    let cursor = first.nextCursor;
    while (cursor !== undefined) {
      // Each call is what a new workflow execution of the run (continue-as-new) asks for: the same sync id.
      const page = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor });
      cursor = page.nextCursor;
    }
    await activities.finishSync({ syncId, mode: 'full' });
    expect(reads(loggedSince(from), 'transactioncurrencies')).toHaveLength(1);
    expect(reads(loggedSince(from), 'connectionroles')).toHaveLength(1);
  } finally {
    await close();
  }
});

it('a currency added while a run reads is read again once: its opportunities sync in it, an unknown one is an error', async () => {
  const { store, activities, close } = await setUp(false);
  try {
    const syncId = 'economy-added-currency';
    const ids = opportunityIds();
    const at = (index: number): string => ids[index] ?? '';
    const [onPage3, onPage4, onPage5] = [at(25), at(35), at(44)];
    const from = org.emulator.stats.log.length;
    const begun = await activities.beginSync({ syncId, full: true });
    const first = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: begun.cursor ?? '' });
    // After the run has read the currencies: a new one, an opportunity moved into it, and two rows pointing to a
    // currency no one has (served as only another implementation would), on two later pages.
    const nok = org.emulator.data.create('transactioncurrency', {
      isocurrencycode: 'NOK',
      currencyname: 'Norwegian Krone',
      currencysymbol: 'kr',
      exchangerate: 10.5,
    });
    org.emulator.data.update('opportunity', onPage3, {
      transactioncurrencyid: { id: nok, logicalName: 'transactioncurrency' },
    });
    const unknown = randomUUID();
    for (const id of [onPage4, onPage5])
      org.emulator.faults.serveColumns('opportunity', id, { _transactioncurrencyid_value: unknown });
    try {
      for (let cursor = first.nextCursor; cursor !== undefined;) {
        const page = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor });
        cursor = page.nextCursor;
      }
      await activities.finishSync({ syncId, mode: 'full' });
    } finally {
      for (const id of [onPage4, onPage5]) org.emulator.faults.serveColumns('opportunity', id, null);
    }
    const currencyReads = reads(loggedSince(from), 'transactioncurrencies');
    // The run's first read (a $batch part) and one more of its own, whatever the number of pages that need it.
    expect(currencyReads.map((entry) => entry.batch === undefined)).toEqual([false, true]);
    const snapshot = await store.snapshot();
    const moved = snapshot.opportunities.find((row) => row.external_opportunity_id === onPage3);
    const nokRow = org.emulator.data.get('opportunity', onPage3);
    expect(moved).toMatchObject({ currency: 'NOK', amount_base: nokRow?.estimatedvalue_base });
    expect(snapshot.syncErrors.map((e) => [e.record_id, e.error]).sort()).toEqual(
      [onPage4, onPage5]
        .map((id) => [
          id,
          `_transactioncurrencyid_value ${unknown} is not a currency of transactioncurrencies`,
        ])
        .sort(),
    );
    expect(snapshot.opportunities).toHaveLength(43);
  } finally {
    await close();
  }
});
