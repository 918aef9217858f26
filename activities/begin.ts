/**
 * Beginning a run: full or incremental, the change baselines of a full sync, and, for an incremental one, the
 * related tables' changes turned into queued opportunities and refreshed leads and companies.
 */
import { isGuid, keyRangeFilter, normaliseGuid, tallyRequests, type Page, type RawRecord } from '../dynamics';
import type { Logger } from '../logging';
import { mapAccount, mapContact, opportunityIdsOfConnection, type CompanyRow, type LeadRow } from '../rules';
import type { BeginSyncResult, KeyRange } from '../workflows';
import {
  committedKey,
  decodeChangeState,
  encodeChangeState,
  nextKey,
  watermarkBefore,
  type ChangeState,
} from './change-state';
import { activityLogger } from './context';
import { isChangeTokenExpired } from './failures';
import type { PagePosition } from './pages';
import { beat, type SyncContext } from './sync-context';
import { ACCOUNTS, CONNECTIONS, CONTACTS, type TableSpec } from './tables';

/**
 * Opportunities with an open sync error that an incremental run reads again (those tried longest ago first),
 * so one whose cause was fixed elsewhere (a related record, a served value, a newer oppsync) syncs without a
 * change of its own; bounded so a large backlog of errors costs a run at most this many extra rows.
 */
export const OPEN_ERRORS_RETRIED_PER_RUN = 1_000;

/**
 * `readAhead` starts reading an opportunity page ahead for the page activity that will ask for it (see
 * pages.ts).
 */
export function beginActivities(context: SyncContext, readAhead: (at: PagePosition) => void) {
  const { store, dynamics, logger, now, opportunities, feeds } = context;

  async function firstPageUrl(
    syncId: string,
    table: TableSpec,
    since?: string,
  ): Promise<{ url: string; tracked: boolean }> {
    const tracked = since === undefined && (await context.changeTracked(syncId, table));
    const filter = since === undefined ? undefined : `modifiedon ge ${since}`;
    return {
      url: dynamics.firstPageUrl(table.entitySet, {
        select: [...table.select],
        filter,
        trackChanges: tracked,
      }),
      tracked,
    };
  }

  /**
   * Reads every page of a change feed (or a baseline read), handing each page to `onPage`; returns the next
   * state. `onFirstPage` hears when the first page has been answered: from then on the delta link that the last
   * page will carry is fixed (it returns the changes since that initial request).
   */
  async function readFeed(
    syncId: string,
    table: TableSpec,
    from: ChangeState | undefined,
    onPage: (records: RawRecord[], deletedIds: string[]) => Promise<void>,
    startedAt: Date,
    onFirstPage: () => void = () => undefined,
  ): Promise<ChangeState> {
    const tracked = await context.changeTracked(syncId, table);
    let url: string;
    if (from?.kind === 'delta') url = from.link;
    else if (from?.kind === 'watermark') url = (await firstPageUrl(syncId, table, from.since)).url;
    // The delta link keeps the $select of the read that produced it. Opportunity deltas are read as pages, so
    // their baseline selects every column; the related tables' deltas only say which rows changed (their
    // current rows are then fetched by id), so a key-only baseline is enough and far cheaper to read.
    else {
      const select = table === opportunities ? [...table.select] : [table.key];
      url = dynamics.firstPageUrl(table.entitySet, { select, trackChanges: tracked });
    }
    let deltaLink: string | undefined;
    for (let next: string | undefined = url; next !== undefined;) {
      const options = { trackChanges: tracked && from?.kind !== 'watermark' };
      // A baseline wants only the delta link: its rows are not parsed.
      const page: Page =
        from === undefined
          ? await dynamics.getPageLinks(next, options)
          : await dynamics.getPage(next, options);
      beat({ table: table.entitySet });
      if (next === url) onFirstPage();
      if (from !== undefined) await onPage(page.records, page.deletedIds);
      deltaLink = page.deltaLink ?? deltaLink;
      next = page.nextLink;
    }
    if (tracked && deltaLink !== undefined) return { kind: 'delta', link: deltaLink };
    return { kind: 'watermark', since: watermarkBefore(startedAt) };
  }

  /** Incremental: reads what changed in connections, contacts and accounts and queues the opportunities it touches. */
  async function collectRelatedChanges(
    syncId: string,
    startedAt: Date,
  ): Promise<Record<string, string> | 'expired'> {
    const next: Record<string, string> = {};
    for (const table of feeds) {
      const from = decodeChangeState(await store.getState(committedKey(table.entitySet)));
      try {
        const state = await readFeed(
          syncId,
          table,
          from,
          async (changed, deletedIds) => {
            const { records, vanishedIds } = await currentRows(table, changed);
            const gone = [...deletedIds, ...vanishedIds];
            if (table === CONNECTIONS) await queueConnectionChanges(records, gone);
            else if (table === CONTACTS) await refreshContacts(records, gone);
            else await refreshAccounts(records);
          },
          startedAt,
        );
        next[nextKey(table.entitySet)] = encodeChangeState(state);
      } catch (error) {
        if (isChangeTokenExpired(error)) return 'expired';
        throw error;
      }
    }
    return next;
  }

  /** The current rows of the changed ids a delta reported; an id Dynamics no longer has was deleted since. */
  async function currentRows(
    table: TableSpec,
    changed: RawRecord[],
  ): Promise<{ records: RawRecord[]; vanishedIds: string[] }> {
    const ids = [
      ...new Set(
        changed
          .map((row) => row[table.key])
          .filter(isGuid)
          .map(normaliseGuid),
      ),
    ];
    if (ids.length === 0) return { records: [], vanishedIds: [] };
    const records = await context.rowsByIds(table, ids);
    const found = new Set(records.map((row) => String(row[table.key]).toLowerCase()));
    return { records, vanishedIds: ids.filter((id) => !found.has(id)) };
  }

  async function queueConnectionChanges(records: RawRecord[], deletedIds: string[]): Promise<void> {
    const touched = records.flatMap((record) => opportunityIdsOfConnection(record));
    const traced = await store.opportunityIdsOfConnections(deletedIds.map((id) => id.toLowerCase()));
    await store.addPending([...new Set([...touched, ...traced])], 'connection changed');
  }

  async function refreshContacts(records: RawRecord[], deletedIds: string[]): Promise<void> {
    const contactIds = records.map((r) => r.contactid).filter((id): id is string => typeof id === 'string');
    const changedIds = [...contactIds, ...deletedIds].map((id) => id.toLowerCase());
    // A contact's new parent account changes the company of every opportunity it is the customer of.
    await store.addPending(
      await store.opportunityIdsWithCustomerContacts(changedIds),
      'customer contact changed',
    );
    const known = new Set(await store.knownLeadContactIds(changedIds));
    const leads: LeadRow[] = [];
    for (const record of records) {
      const mapped = mapContact(record);
      if (mapped.ok && known.has(mapped.row.dynamics_contact_id)) leads.push(mapped.row);
    }
    const parentIds = [
      ...new Set(
        leads.flatMap((lead) => (lead.external_company_id === null ? [] : [lead.external_company_id])),
      ),
    ];
    const companies = await fetchCompanies(parentIds);
    await store.refreshLeadsAndCompanies(leads, companies, now().toISOString());
  }

  async function refreshAccounts(records: RawRecord[]): Promise<void> {
    const accountIds = records.map((r) => r.accountid).filter((id): id is string => typeof id === 'string');
    const known = new Set(await store.knownCompanyIds(accountIds.map((id) => id.toLowerCase())));
    const companies = records.flatMap((record) => {
      const mapped = mapAccount(record);
      return mapped.ok && known.has(mapped.row.external_company_id) ? [mapped.row] : [];
    });
    await store.refreshLeadsAndCompanies([], companies, now().toISOString());
  }

  async function fetchCompanies(accountIds: string[]): Promise<CompanyRow[]> {
    if (accountIds.length === 0) return [];
    const rows = await context.rowsByIds(ACCOUNTS, accountIds);
    return rows.flatMap((row) => {
      const mapped = mapAccount(row);
      return mapped.ok ? [mapped.row] : [];
    });
  }

  async function clearNextState(): Promise<void> {
    const entries: Record<string, null> = {};
    for (const table of [opportunities, ...feeds]) entries[nextKey(table.entitySet)] = null;
    await store.setState(entries);
  }

  async function beginFull(
    syncId: string,
    startedAt: Date,
    baselineOpportunities: boolean,
  ): Promise<BeginSyncResult> {
    await store.clearPending();
    const next: Record<string, string> = {};
    // Baselines first: whatever changes in these tables while the full read runs is seen by the next run.
    // Partitioned reads filter by key, which change tracking does not allow, so a backfill takes the
    // opportunities' baseline here too.
    // The baselines read in parallel: Dynamics serves one table while the worker parses another.
    const tables = baselineOpportunities ? [opportunities, ...feeds] : feeds;
    const first = await firstPageUrl(syncId, opportunities);
    // Once every baseline's first page is answered, what changes from then on is the next run's: the first
    // opportunity page is read ahead meanwhile, so the run's first page waits for no baseline (a backfill's
    // pages are read by its partitions).
    let started = 0;
    const baselineStarted = (): void => {
      started += 1;
      if (started === tables.length && !baselineOpportunities)
        readAhead({ syncId, mode: 'full', cursor: first.url, trackChanges: first.tracked });
    };
    const states = await Promise.all(
      tables.map((table) => readFeed(syncId, table, undefined, async () => {}, startedAt, baselineStarted)),
    );
    tables.forEach((table, index) => {
      next[nextKey(table.entitySet)] = encodeChangeState(states[index] as ChangeState);
    });
    if (!first.tracked && !baselineOpportunities)
      next[nextKey(opportunities.entitySet)] = encodeChangeState({
        kind: 'watermark',
        since: watermarkBefore(startedAt),
      });
    await store.setState(next);
    return { mode: 'full', cursor: first.url, counts: {} };
  }

  /** Full or incremental: takes the change baselines or reads the related tables' changes, and says where to start. */
  async function chooseAndBegin(
    input: { syncId: string; full: boolean; baselineOpportunities?: boolean },
    startedAt: Date,
    log: Logger,
  ): Promise<BeginSyncResult> {
    const { syncId } = input;
    const baselineOpportunities = input.baselineOpportunities === true;
    await clearNextState();
    const saved = decodeChangeState(await store.getState(committedKey(opportunities.entitySet)));
    // Change state saved against another organisation (DYNAMICS_URL changed) says nothing about this one.
    const foreign = saved?.kind === 'delta' && !dynamics.servesLink(saved.link);
    if (input.full || saved === undefined || foreign)
      return beginFull(syncId, startedAt, baselineOpportunities);
    const related = await collectRelatedChanges(syncId, startedAt);
    if (related === 'expired') {
      log.warn({ syncId }, 'change-tracking token expired; falling back to a full sync');
      return beginFull(syncId, startedAt, baselineOpportunities);
    }
    let cursor: string;
    if (saved.kind === 'delta') cursor = saved.link;
    else {
      cursor = (await firstPageUrl(syncId, opportunities, saved.since)).url;
      related[nextKey(opportunities.entitySet)] = encodeChangeState({
        kind: 'watermark',
        since: watermarkBefore(startedAt),
      });
    }
    await store.setState(related);
    const errored = (await store.erroredOpportunityIds(OPEN_ERRORS_RETRIED_PER_RUN)).filter(isGuid);
    await store.addPending(errored.map(normaliseGuid), 'open sync error');
    return { mode: 'incremental', cursor, counts: {} };
  }

  return {
    /** Chooses full or incremental, takes change baselines and queues opportunities touched by related changes. */
    async beginSync(input: {
      syncId: string;
      full: boolean;
      baselineOpportunities?: boolean;
    }): Promise<BeginSyncResult> {
      const log = activityLogger(logger);
      await context.backoff.adopt();
      const startedAt = now();
      const holder = await store.claimRunLock(input.syncId);
      if (holder !== input.syncId) {
        log.info({ syncId: input.syncId, waitingFor: holder }, 'another run is writing: this one waits');
        return { mode: input.full ? 'full' : 'incremental', cursor: '', counts: {}, waitingFor: holder };
      }
      const { value: result, requests } = await tallyRequests(() => chooseAndBegin(input, startedAt, log));
      log.info({ syncId: input.syncId, mode: result.mode }, 'sync begun');
      return { ...result, counts: { ...result.counts, dynamicsRequests: requests } };
    },

    /** The first page of one key range of a partitioned backfill (a plain read: no change tracking with filters). */
    beginPartition(input: { range: KeyRange }): Promise<BeginSyncResult> {
      const filter = keyRangeFilter(opportunities.key, input.range);
      const cursor = dynamics.firstPageUrl(opportunities.entitySet, {
        select: [...opportunities.select],
        filter,
      });
      return Promise.resolve({ mode: 'full', cursor, counts: {} });
    },
  };
}
