import type { SyncConfig } from '../config';
import {
  isGuid,
  keyRangeFilter,
  normaliseGuid,
  tallyRequests,
  type DynamicsClient,
  type Page,
  type RawRecord,
} from '../dynamics';
import {
  hasUnknownCurrency,
  mapAccount,
  mapContact,
  opportunityIdsOfConnection,
  parentAccountIds,
  parseConnectionRoles,
  parseCurrencies,
  referencedIds,
  resolvePage,
  writtenByPage,
  type CompanyRow,
  type ConnectionRole,
  type Currencies,
  type LeadRow,
  type WrittenThisRun,
} from '../rules';
import type { Logger } from '../logging';
import type { OppsyncMetrics } from '../metrics';
import {
  encodeLastSuccess,
  LAST_SUCCESS_KEY,
  RUN_LOCK_LEASE_MS,
  type MarketoStore,
  type WriteCounts,
  type WritePageInput,
} from '../store';
import type {
  BeginSyncResult,
  KeyRange,
  PageResult,
  PendingBatchResult,
  SyncCounts,
  SyncMode,
} from '../workflows';
import {
  committedKey,
  decodeChangeState,
  encodeChangeState,
  nextKey,
  watermarkBefore,
  type ChangeState,
} from './change-state';
import { ApplicationFailure } from '@temporalio/activity';
import { activityLogger, heartbeatIfInActivity, outsideActivity } from './context';
import { isChangeTokenExpired, toActivityFailure } from './failures';
import { PagePrefetch } from './page-prefetch';
import { RunMemory, type PageWrites } from './run-memory';
import { shareBackoff } from './shared-backoff';
import {
  ACCOUNTS,
  CONNECTION_ROLE_COLUMNS,
  CONNECTIONS,
  CONTACTS,
  CURRENCY_COLUMNS,
  opportunityTable,
  type TableSpec,
} from './tables';

export interface SyncActivityDependencies {
  store: MarketoStore;
  dynamics: DynamicsClient;
  sync: SyncConfig;
  logger: Logger;
  now?: () => Date;
  /** Where pages read ahead wait for their activity (tests pass their own); unused when SYNC_READ_AHEAD=false. */
  readAhead?: PagePrefetch<ReadAheadPage>;
  /** What each run has written on this worker (tests pass their own to look at it). */
  runMemory?: RunMemory;
  /** Where the rows written and the runs finished are counted (OPPSYNC_METRICS_ADDRESS); none when off. */
  metrics?: Pick<OppsyncMetrics, 'recordCounts' | 'recordRun'>;
}

/** A page read ahead and resolved, with the requests reading it took (counted for the activity that uses it). */
export interface ReadAheadPage {
  value: ResolvedPage;
  requests: number;
}

const beat = heartbeatIfInActivity;

/**
 * Opportunities with an open sync error that an incremental run reads again (those tried longest ago first),
 * so one whose cause was fixed elsewhere (a related record, a served value, a newer oppsync) syncs without a
 * change of its own; bounded so a large backlog of errors costs a run at most this many extra rows.
 */
export const OPEN_ERRORS_RETRIED_PER_RUN = 1_000;

/** Where a page is: its sync, how it is read and its cursor (first page, next link or delta link). */
interface PagePosition {
  syncId: string;
  mode: SyncMode;
  cursor: string;
  trackChanges: boolean;
}

/** What resolving a page of opportunities needs besides the page: read from Dynamics in a few batches. */
export interface RelatedRows {
  roles: Map<string, ConnectionRole>;
  currencies: Currencies;
  connections: RawRecord[];
  contacts: RawRecord[];
  accounts: RawRecord[];
  /** Contacts and accounts earlier pages of the run wrote: not read again, pointed to. */
  written: WrittenThisRun;
}

/**
 * One opportunity page read and resolved by the rules. The rows read from Dynamics are gone by now: a page
 * read ahead waits for its activity as the rows it will write, not as the (larger) rows it was read as.
 */
export interface ResolvedPage {
  /** What to write; handed over to the store by the write (see startWrite), which lets go of it here. */
  input: WritePageInput | undefined;
  /** The contacts and accounts the page writes, for later pages of its run once it is committed. */
  writes: PageWrites;
  skipped: number;
  nextLink?: string;
  deltaLink?: string;
  records: number;
  deleted: number;
}

/** What every page of a run resolves against, read once a run (see runReference). */
interface RunReference {
  roles: Map<string, ConnectionRole>;
  currencies: Currencies;
  /** Whether this run has read the currencies again, for a currency added since its first read (at most once). */
  currenciesReread: boolean;
}

function toCounts(write: WriteCounts, requests: number, skipped: number): Partial<SyncCounts> {
  return { ...write, dynamicsRequests: requests, skipped, pages: 1 };
}

/**
 * The sync's activities: each reads what it needs from Dynamics, applies the rules and writes one page in
 * one transaction, returning only cursors and counts to the workflow.
 */
export function createSyncActivities(deps: SyncActivityDependencies) {
  const { store, dynamics, sync, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const opportunities = opportunityTable(sync.opportunityFields, sync.filterAttribute);
  const ruleOptions = { customFields: [...sync.opportunityFields], filterAttribute: sync.filterAttribute };
  const feeds: TableSpec[] = [CONNECTIONS, CONTACTS, ACCOUNTS];
  const trackingFlags = new Map<string, Promise<boolean>>();
  const referenceCache = new Map<string, Promise<RunReference>>();
  const backoff = shareBackoff(dynamics, store, logger);
  const readAhead = sync.readAhead ? (deps.readAhead ?? new PagePrefetch<ReadAheadPage>()) : undefined;
  const runMemory = deps.runMemory ?? new RunMemory();
  const { metrics } = deps;

  /** An activity's counts, once they are written: counted for the metrics once per activity, never per row. */
  function counted<T extends { counts: Partial<SyncCounts> }>(result: T): T {
    metrics?.recordCounts(result.counts);
    return result;
  }

  function changeTracked(table: TableSpec): Promise<boolean> {
    let flag = trackingFlags.get(table.logicalName);
    if (flag === undefined) {
      flag = dynamics.isChangeTrackingEnabled(table.logicalName);
      flag.catch(() => trackingFlags.delete(table.logicalName));
      trackingFlags.set(table.logicalName, flag);
    }
    return flag;
  }

  /** Keeps a run's reference rows for its later pages; a failed read is forgotten, so a retry reads again. */
  function rememberReference(syncId: string, reference: Promise<RunReference>): void {
    reference.catch(() => {
      if (referenceCache.get(syncId) === reference) referenceCache.delete(syncId);
    });
    if (referenceCache.size > 16) referenceCache.clear();
    referenceCache.set(syncId, reference);
  }

  /**
   * Connection roles and currencies change rarely: one $batch per sync run (on each worker; the sync id survives
   * continue-as-new and retries) reads both, so a page stays at a few requests and the currencies cost none.
   */
  function runReference(syncId: string): Promise<RunReference> {
    let reference = referenceCache.get(syncId);
    if (reference === undefined) {
      reference = dynamics
        .getAllMany([
          { entitySet: 'connectionroles', select: CONNECTION_ROLE_COLUMNS, annotations: [] },
          { entitySet: 'transactioncurrencies', select: CURRENCY_COLUMNS, annotations: [] },
        ])
        .then(([roles = [], currencies = []]) => ({
          roles: parseConnectionRoles(roles),
          currencies: parseCurrencies(currencies),
          currenciesReread: false,
        }));
      rememberReference(syncId, reference);
    }
    return reference;
  }

  /**
   * The run's reference rows for a page of opportunities. A page pointing to a currency the run's read did not
   * name (one added since) reads the currencies again, once a run; a currency still unknown is a sync error.
   */
  async function referenceFor(syncId: string, records: RawRecord[]): Promise<RunReference> {
    const cached = runReference(syncId);
    const reference = await cached;
    if (reference.currenciesReread || !hasUnknownCurrency(records, reference.currencies)) return reference;
    // Another page of the run may have started reading them again meanwhile: its read is this page's too.
    const latest = referenceCache.get(syncId);
    if (latest !== undefined && latest !== cached) return latest;
    const reread = dynamics
      .getAll('transactioncurrencies', CURRENCY_COLUMNS, { annotations: [] })
      .then((rows) => ({ ...reference, currencies: parseCurrencies(rows), currenciesReread: true }));
    rememberReference(syncId, reread);
    return reread;
  }

  async function firstPageUrl(table: TableSpec, since?: string): Promise<{ url: string; tracked: boolean }> {
    const tracked = since === undefined && (await changeTracked(table));
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

  /** Reads every page of a change feed (or a baseline read), handing each page to `onPage`; returns the next state. */
  async function readFeed(
    table: TableSpec,
    from: ChangeState | undefined,
    onPage: (records: RawRecord[], deletedIds: string[]) => Promise<void>,
    startedAt: Date,
  ): Promise<ChangeState> {
    const tracked = await changeTracked(table);
    let url: string;
    if (from?.kind === 'delta') url = from.link;
    else if (from?.kind === 'watermark') url = (await firstPageUrl(table, from.since)).url;
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
      if (from !== undefined) await onPage(page.records, page.deletedIds);
      deltaLink = page.deltaLink ?? deltaLink;
      next = page.nextLink;
    }
    if (tracked && deltaLink !== undefined) return { kind: 'delta', link: deltaLink };
    return { kind: 'watermark', since: watermarkBefore(startedAt) };
  }

  /**
   * Rows of `table` whose `property` (default its key) is one of `ids`, with the table's columns and only the
   * annotations its rules read. No ids, no request.
   */
  function rowsByIds(
    table: TableSpec,
    ids: string[],
    options: { property?: string; extraFilter?: string } = {},
  ): Promise<RawRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return dynamics.getByIds(table.entitySet, options.property ?? table.key, ids, [...table.select], {
      annotations: table.annotations,
      ...(options.extraFilter !== undefined ? { extraFilter: options.extraFilter } : {}),
    });
  }

  /** Reads what a page of opportunities needs: their connections, customers, stakeholders and accounts. */
  async function readRelated(syncId: string, records: RawRecord[]): Promise<RelatedRows> {
    const { roles, currencies } = await referenceFor(syncId, records);
    const opportunityIds = records
      .map((record) => record.opportunityid)
      .filter(isGuid)
      .map(normaliseGuid);
    const connections = await rowsByIds(CONNECTIONS, opportunityIds, {
      property: 'record1id',
      extraFilter: 'statecode eq 0',
    });
    beat();
    const wanted = referencedIds(records, connections, roles);
    const written = runMemory.of(syncId);
    // One lookup per contact: those the run has not written are read; a remembered contact's parent was written
    // with it, unless it could not be (then it is read again, as the page that wrote the contact read it, and
    // gives the same error).
    const unwritten: string[] = [];
    const rememberedParents: string[] = [];
    for (const id of wanted.contactIds) {
      const parent = written.contacts.get(id);
      if (parent === undefined) unwritten.push(id);
      else if (parent !== null) rememberedParents.push(parent);
    }
    const contacts = await rowsByIds(CONTACTS, unwritten);
    beat();
    const accountIds = [
      ...new Set([...wanted.accountIds, ...parentAccountIds(contacts), ...rememberedParents]),
    ].filter((id) => !written.accounts.has(id));
    const accounts = await rowsByIds(ACCOUNTS, accountIds);
    beat();
    return { roles, currencies, connections, contacts, accounts, written };
  }

  /** Applies the rules to opportunities and their related rows. */
  function resolveForWrite(
    records: RawRecord[],
    related: RelatedRows,
    deletedIds: string[],
    seenSyncId: string | undefined,
  ): { input: WritePageInput; writes: PageWrites; skipped: number } {
    const resolved = resolvePage({ opportunities: records, ...related, options: ruleOptions });
    // resolved.stakeholderConnections: the connections that gave a role, so a later delete (the delta says only
    // its id) can be traced back to its opportunity.
    return {
      input: { ...resolved, deletedOpportunityIds: deletedIds, seenSyncId },
      writes: writtenByPage(resolved, related.contacts),
      skipped: resolved.skippedIds.length,
    };
  }

  /**
   * Starts writing a resolved page in one transaction and lets go of its rows: the SQLite writer thread has
   * its own copy once the write has started, so they are not held twice while it runs. Not async on purpose:
   * no frame of this function outlives the hand-over.
   */
  function startWrite(page: { input: WritePageInput | undefined }): Promise<WriteCounts> {
    const { input } = page;
    if (input === undefined) throw new Error('this page has been written already');
    page.input = undefined;
    return store.writePage(input, now().toISOString());
  }

  /**
   * Writes the page and, once it is committed, lets later pages of the run point to what it wrote. A failed
   * write makes the run forget what it wrote, so that the retry depends on nothing the store may have lost.
   */
  async function writeAndRemember(
    syncId: string,
    page: { input: WritePageInput | undefined; writes: PageWrites },
  ): Promise<WriteCounts> {
    try {
      const counts = await startWrite(page);
      runMemory.remember(syncId, page.writes);
      return counts;
    } catch (error) {
      runMemory.forget(syncId);
      throw error;
    }
  }

  /**
   * Reads one opportunity page and its related rows and resolves them. `onNextLink` hears the next page's link
   * as soon as the page itself has arrived, so reading ahead can start while this page's related rows are
   * still being read. The rows read are let go of once resolved.
   */
  async function loadPage(
    at: PagePosition,
    onNextLink: (link: string) => void = () => undefined,
  ): Promise<ResolvedPage> {
    const page = await dynamics.getPage(at.cursor, { trackChanges: at.trackChanges });
    beat();
    if (page.nextLink !== undefined) onNextLink(page.nextLink);
    const related = await readRelated(at.syncId, page.records);
    const seenSyncId = at.mode === 'full' ? at.syncId : undefined;
    return {
      ...resolveForWrite(page.records, related, page.deletedIds, seenSyncId),
      ...(page.nextLink !== undefined ? { nextLink: page.nextLink } : {}),
      ...(page.deltaLink !== undefined ? { deltaLink: page.deltaLink } : {}),
      records: page.records.length,
      deleted: page.deletedIds.length,
    };
  }

  const readAheadKey = (at: PagePosition): string =>
    JSON.stringify([at.syncId, at.mode, at.trackChanges, at.cursor]);

  /**
   * Starts reading the page at `at` ahead, outside the current activity (no heartbeats, its own request tally).
   * Once that page's next link is known, the page after it is asked for too, to start as soon as a place is
   * free: reading two pages ahead keeps Dynamics and the worker busy while the writer commits a page.
   */
  function startReadAhead(at: PagePosition, whenRoom = false): void {
    if (readAhead === undefined) return;
    const load = (): Promise<ReadAheadPage> =>
      outsideActivity(() =>
        tallyRequests(() => loadPage(at, (next) => startReadAhead({ ...at, cursor: next }, true))),
      );
    if (whenRoom) readAhead.startWhenRoom(readAheadKey(at), load);
    else readAhead.start(readAheadKey(at), load);
  }

  /** The page at a position: read ahead by the previous page's activity on this worker, or read now. */
  async function pageAt(
    at: PagePosition,
  ): Promise<{ page: ResolvedPage; readAheadRequests: number; wasReadAhead: boolean }> {
    const ahead = await readAhead?.take(readAheadKey(at))?.catch(() => undefined);
    if (ahead !== undefined) {
      const next = ahead.value.nextLink;
      if (next !== undefined) startReadAhead({ ...at, cursor: next });
      return { page: ahead.value, readAheadRequests: ahead.requests, wasReadAhead: true };
    }
    const page = await loadPage(at, (next) => startReadAhead({ ...at, cursor: next }));
    return { page, readAheadRequests: 0, wasReadAhead: false };
  }

  /** The page at the cursor, read (or taken from the read-ahead) and resolved. */
  async function readAndResolvePage(input: {
    syncId: string;
    mode: SyncMode;
    cursor: string;
  }): Promise<'changeTokenExpired' | (ResolvedPage & { wasReadAhead: boolean; requests: number })> {
    const { value, requests } = await tallyRequests(async () => {
      const tracked = await changeTracked(opportunities);
      // Filtered reads (watermarks, backfill partitions) cannot track changes.
      const trackChanges = tracked && !/[?&]\$filter=/.test(input.cursor);
      try {
        return await pageAt({ ...input, trackChanges });
      } catch (error) {
        if (input.mode === 'incremental' && isChangeTokenExpired(error)) return 'changeTokenExpired';
        throw error;
      }
    });
    if (value === 'changeTokenExpired') return value;
    return Object.assign(value.page, {
      wasReadAhead: value.wasReadAhead,
      requests: requests + value.readAheadRequests,
    });
  }

  /** Incremental: reads what changed in connections, contacts and accounts and queues the opportunities it touches. */
  async function collectRelatedChanges(startedAt: Date): Promise<Record<string, string> | 'expired'> {
    const next: Record<string, string> = {};
    for (const table of feeds) {
      const from = decodeChangeState(await store.getState(committedKey(table.entitySet)));
      try {
        const state = await readFeed(
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
    const records = await rowsByIds(table, ids);
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
    const rows = await rowsByIds(ACCOUNTS, accountIds);
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

  async function beginFull(startedAt: Date, baselineOpportunities: boolean): Promise<BeginSyncResult> {
    await store.clearPending();
    const next: Record<string, string> = {};
    // Baselines first: whatever changes in these tables while the full read runs is seen by the next run.
    // Partitioned reads filter by key, which change tracking does not allow, so a backfill takes the
    // opportunities' baseline here too.
    // The baselines read in parallel: Dynamics serves one table while the worker parses another.
    const tables = baselineOpportunities ? [opportunities, ...feeds] : feeds;
    const states = await Promise.all(
      tables.map((table) => readFeed(table, undefined, async () => {}, startedAt)),
    );
    tables.forEach((table, index) => {
      next[nextKey(table.entitySet)] = encodeChangeState(states[index] as ChangeState);
    });
    const first = await firstPageUrl(opportunities);
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
    await clearNextState();
    const saved = decodeChangeState(await store.getState(committedKey(opportunities.entitySet)));
    // Change state saved against another organisation (DYNAMICS_URL changed) says nothing about this one.
    const foreign = saved?.kind === 'delta' && !dynamics.servesLink(saved.link);
    let result: BeginSyncResult;
    if (input.full || saved === undefined || foreign) {
      result = await beginFull(startedAt, input.baselineOpportunities === true);
    } else {
      const related = await collectRelatedChanges(startedAt);
      if (related === 'expired') {
        log.warn({ syncId: input.syncId }, 'change-tracking token expired; falling back to a full sync');
        result = await beginFull(startedAt, input.baselineOpportunities === true);
      } else {
        let cursor: string;
        if (saved.kind === 'delta') cursor = saved.link;
        else {
          cursor = (await firstPageUrl(opportunities, saved.since)).url;
          related[nextKey(opportunities.entitySet)] = encodeChangeState({
            kind: 'watermark',
            since: watermarkBefore(startedAt),
          });
        }
        await store.setState(related);
        const errored = (await store.erroredOpportunityIds(OPEN_ERRORS_RETRIED_PER_RUN)).filter(isGuid);
        await store.addPending(errored.map(normaliseGuid), 'open sync error');
        result = { mode: 'incremental', cursor, counts: {} };
      }
    }
    return result;
  }

  /** Renews this run's lock before it writes; a run that lost it to another stops rather than write beside it. */
  async function holdRunLock(syncId: string): Promise<void> {
    const holder = await store.claimRunLock(syncId);
    if (holder !== syncId)
      throw ApplicationFailure.nonRetryable(
        `another run (${holder.split('/')[0]}) took the run lock after this run had not renewed it for ` +
          `${RUN_LOCK_LEASE_MS / 60_000} minutes; this run stops so that two runs never write at once`,
        'RunLockLost',
      );
  }

  return {
    /** Chooses full or incremental, takes change baselines and queues opportunities touched by related changes. */
    async beginSync(input: {
      syncId: string;
      full: boolean;
      baselineOpportunities?: boolean;
    }): Promise<BeginSyncResult> {
      const log = activityLogger(logger);
      await backoff.adopt();
      const startedAt = now();
      try {
        const holder = await store.claimRunLock(input.syncId);
        if (holder !== input.syncId) {
          log.info({ syncId: input.syncId, waitingFor: holder }, 'another run is writing: this one waits');
          return { mode: input.full ? 'full' : 'incremental', cursor: '', counts: {}, waitingFor: holder };
        }
        const { value: result, requests } = await tallyRequests(() => chooseAndBegin(input, startedAt, log));
        log.info({ syncId: input.syncId, mode: result.mode }, 'sync begun');
        return { ...result, counts: { ...result.counts, dynamicsRequests: requests } };
      } catch (error) {
        throw toActivityFailure(error);
      }
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

    /** Reads one opportunity page (first page, next link or delta link), resolves it and writes it. */
    async syncOpportunityPage(input: {
      syncId: string;
      mode: SyncMode;
      cursor: string;
    }): Promise<PageResult> {
      const log = activityLogger(logger);
      await backoff.adopt();
      try {
        await holdRunLock(input.syncId);
        const read = await readAndResolvePage(input);
        if (read === 'changeTokenExpired') return { changeTokenExpired: true, counts: {} };
        const written = await writeAndRemember(input.syncId, read);
        if (read.nextLink === undefined && read.deltaLink !== undefined) {
          // The change state moves only once the page it ends is written.
          await store.setState({
            [nextKey(opportunities.entitySet)]: encodeChangeState({ kind: 'delta', link: read.deltaLink }),
          });
        }
        log.info(
          {
            syncId: input.syncId,
            records: read.records,
            deleted: read.deleted,
            last: read.nextLink === undefined,
            readAhead: read.wasReadAhead,
          },
          'opportunity page written',
        );
        return counted({ nextCursor: read.nextLink, counts: toCounts(written, read.requests, read.skipped) });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Re-resolves queued opportunities that changed only through their connections or customer contact. */
    async syncPendingBatch(input: { syncId: string; mode: SyncMode }): Promise<PendingBatchResult> {
      const log = activityLogger(logger);
      await backoff.adopt();
      try {
        await holdRunLock(input.syncId);
        const ids = await store.takePending(sync.pageSize);
        if (ids.length === 0) return { remaining: 0, counts: {} };
        const { value: read, requests } = await tallyRequests(async () => {
          const rows = await rowsByIds(opportunities, ids);
          return { rows, related: await readRelated(input.syncId, rows) };
        });
        const { rows: records, related } = read;
        const found = new Set(records.map((r) => String(r.opportunityid).toLowerCase()));
        // A queued opportunity that Dynamics no longer has was deleted.
        const vanished = ids.filter((id) => !found.has(id));
        const resolved = resolveForWrite(records, related, vanished, undefined);
        const written = await writeAndRemember(input.syncId, resolved);
        await store.removePending(ids);
        const remaining = await store.pendingCount();
        log.info(
          { syncId: input.syncId, records: records.length, vanished: vanished.length, remaining },
          'queued opportunities written',
        );
        return counted({ remaining, counts: toCounts(written, requests, resolved.skipped) });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /**
     * Ends a run: a full sync marks what it did not see as deleted; the new change state becomes the saved one,
     * and with it the record of the last successful run. `startedAt` (the workflow's) times the run; workflows
     * started before it was passed leave it out.
     */
    async finishSync(input: {
      syncId: string;
      mode: SyncMode;
      startedAt?: string;
    }): Promise<{ counts: Partial<SyncCounts> }> {
      try {
        await holdRunLock(input.syncId);
        let counts: Partial<SyncCounts> = {};
        if (input.mode === 'full') {
          const deleted = await store.markUnseenDeleted(input.syncId, now().toISOString());
          counts = { opportunitiesDeleted: deleted.opportunitiesDeleted, rolesDeleted: deleted.rolesDeleted };
        }
        const promote: Record<string, string | null> = {};
        for (const table of [opportunities, ...feeds]) {
          const value = await store.getState(nextKey(table.entitySet));
          if (value !== undefined) promote[committedKey(table.entitySet)] = value;
          promote[nextKey(table.entitySet)] = null;
        }
        const finishedAt = now();
        const started = input.startedAt === undefined ? NaN : Date.parse(input.startedAt);
        const startedAt = Number.isNaN(started) ? undefined : new Date(started);
        promote[LAST_SUCCESS_KEY] = encodeLastSuccess({
          finishedAt,
          mode: input.mode,
          ...(startedAt !== undefined ? { startedAt } : {}),
        });
        await store.setState(promote);
        await store.releaseRunLock(input.syncId);
        referenceCache.delete(input.syncId);
        if (startedAt !== undefined)
          metrics?.recordRun(input.mode, (finishedAt.getTime() - startedAt.getTime()) / 1000);
        activityLogger(logger).info({ syncId: input.syncId, mode: input.mode }, 'sync finished');
        return counted({ counts });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** A run that failed gives the run lock up at once, so the next run need not wait out its lease. */
    async releaseRunLock(input: { syncId: string }): Promise<void> {
      try {
        await store.releaseRunLock(input.syncId);
      } catch (error) {
        throw toActivityFailure(error);
      }
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
