/**
 * Beginning a run: full or incremental, the change baselines of a full sync, and, for an incremental one, the
 * related tables' changes turned into queued opportunities and refreshed leads and companies.
 */
import {
  ACCOUNTS,
  CONNECTIONS,
  CONTACTS,
  isGuid,
  keyRangeFilter,
  normaliseGuid,
  tallyRequests,
  type RawRecord,
  type TableSpec,
} from '../dynamics';
import type { Logger } from '../logging';
import {
  mapAccount,
  mapContact,
  opportunityIdsOfConnection,
  vanishedIds,
  type CompanyRow,
  type LeadRow,
} from '../rules';
import type { BeginSyncInput, BeginSyncResult, KeyRange } from '../workflows';
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
import { beat, type SyncContext } from './sync-context';

/**
 * Opportunities with an open sync error that an incremental run reads again (those tried longest ago first),
 * so one whose cause was fixed elsewhere (a related record, a served value, a newer oppsync) syncs without a
 * change of its own; bounded so a large backlog of errors costs a run at most this many extra rows.
 */
export const OPEN_ERRORS_RETRIED_PER_RUN = 1_000;

export function beginActivities(context: SyncContext) {
  const { store, dynamics, logger, now, opportunities, feeds } = context;

  async function firstPageUrl(table: TableSpec, since?: string): Promise<{ url: string; tracked: boolean }> {
    const tracked = since === undefined && (await context.changeTracked(table));
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

  /** Reads every page of a change feed (delta link or watermark), handing each page to `onPage`; the next state. */
  async function readFeed(
    table: TableSpec,
    from: ChangeState,
    onPage: (records: RawRecord[], deletedIds: string[]) => Promise<void>,
    startedAt: Date,
  ): Promise<ChangeState> {
    const tracked = await context.changeTracked(table);
    const url = from.kind === 'delta' ? from.link : (await firstPageUrl(table, from.since)).url;
    let deltaLink: string | undefined;
    for (let next: string | undefined = url; next !== undefined;) {
      const page = await dynamics.getPage(next, { trackChanges: tracked && from.kind === 'delta' });
      beat({ table: table.entitySet });
      await onPage(page.records, page.deletedIds);
      deltaLink = page.deltaLink ?? deltaLink;
      next = page.nextLink;
    }
    if (tracked && deltaLink !== undefined) return { kind: 'delta', link: deltaLink };
    return { kind: 'watermark', since: watermarkBefore(startedAt) };
  }

  /**
   * A change-tracking baseline's first URL. The delta link keeps the $select of the read that produced it.
   * Opportunity deltas are read as pages, so their baseline selects every column; the related tables' deltas
   * only say which rows changed (their current rows are then fetched by id), so a key-only baseline is enough
   * and far cheaper to read.
   */
  async function baselineUrl(table: TableSpec): Promise<string> {
    const select = table === opportunities ? [...table.select] : [table.key];
    const trackChanges = await context.changeTracked(table);
    return dynamics.firstPageUrl(table.entitySet, { select, trackChanges });
  }

  /** Walks a baseline from `url` to its last page (its links only: the rows are not parsed); the next state. */
  async function walkBaseline(table: TableSpec, url: string, startedAt: Date): Promise<ChangeState> {
    const tracked = await context.changeTracked(table);
    const { deltaLink } = await dynamics.walkToDeltaLink(url, {
      trackChanges: tracked,
      onPage: () => beat({ table: table.entitySet }),
    });
    if (tracked && deltaLink !== undefined) return { kind: 'delta', link: deltaLink };
    return { kind: 'watermark', since: watermarkBefore(startedAt) };
  }

  /** Incremental: reads what changed in connections, contacts and accounts and queues the opportunities it touches. */
  async function collectRelatedChanges(startedAt: Date): Promise<Record<string, string> | 'expired'> {
    const next: Record<string, string> = {};
    for (const table of feeds) {
      const from = decodeChangeState(await store.state.get(committedKey(table.entitySet)));
      try {
        // A table with no saved state (none was ever taken) gets its baseline now; its changes so far are lost
        // to this run, as they would be to a first full sync.
        const state =
          from === undefined
            ? await walkBaseline(table, await baselineUrl(table), startedAt)
            : await readFeed(
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
    return { records, vanishedIds: vanishedIds(ids, records, table.key) };
  }

  async function queueConnectionChanges(records: RawRecord[], deletedIds: string[]): Promise<void> {
    const touched = records.flatMap((record) => opportunityIdsOfConnection(record));
    const traced = await store.opportunityIdsOfConnections(deletedIds.map((id) => id.toLowerCase()));
    await store.pending.add([...new Set([...touched, ...traced])], 'connection changed');
  }

  async function refreshContacts(records: RawRecord[], deletedIds: string[]): Promise<void> {
    const contactIds = records.map((r) => r.contactid).filter((id): id is string => typeof id === 'string');
    const changedIds = [...contactIds, ...deletedIds].map((id) => id.toLowerCase());
    // A contact's new parent account changes the company of every opportunity it is the customer of.
    await store.pending.add(
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
    await store.state.set(entries);
  }

  /**
   * A full sync begins with the change baselines of the related tables (and, for a backfill, of the
   * opportunities, since its key-filtered pages cannot track changes), walked side by side: whatever changes in
   * them while the full read runs is seen by the next run.
   */
  async function beginFull(startedAt: Date, baselineOpportunities: boolean): Promise<BeginSyncResult> {
    await store.pending.clear();
    const tables = baselineOpportunities ? [opportunities, ...feeds] : feeds;
    const states = await Promise.all(
      tables.map(async (table) => walkBaseline(table, await baselineUrl(table), startedAt)),
    );
    const next: Record<string, string> = {};
    states.forEach((state, index) => {
      next[nextKey((tables[index] as TableSpec).entitySet)] = encodeChangeState(state);
    });
    const first = await firstPageUrl(opportunities);
    if (!first.tracked && !baselineOpportunities)
      next[nextKey(opportunities.entitySet)] = encodeChangeState({
        kind: 'watermark',
        since: watermarkBefore(startedAt),
      });
    await store.state.set(next);
    return { mode: 'full', cursor: first.url, counts: {} };
  }

  /** Full or incremental: takes the change baselines or reads the related tables' changes, and says where to start. */
  async function chooseAndBegin(
    input: BeginSyncInput,
    startedAt: Date,
    log: Logger,
  ): Promise<BeginSyncResult> {
    const { syncId } = input;
    const baselineOpportunities = input.baselineOpportunities === true;
    await clearNextState();
    const saved = decodeChangeState(await store.state.get(committedKey(opportunities.entitySet)));
    // Change state saved against another organisation (DYNAMICS_URL changed) says nothing about this one.
    const foreign = saved?.kind === 'delta' && !dynamics.servesLink(saved.link);
    if (input.full || saved === undefined || foreign) return beginFull(startedAt, baselineOpportunities);
    const related = await collectRelatedChanges(startedAt);
    if (related === 'expired') {
      log.warn({ syncId }, 'change-tracking token expired; falling back to a full sync');
      return beginFull(startedAt, baselineOpportunities);
    }
    let cursor: string;
    if (saved.kind === 'delta') cursor = saved.link;
    else {
      cursor = (await firstPageUrl(opportunities, saved.since)).url;
      related[nextKey(opportunities.entitySet)] = encodeChangeState({
        kind: 'watermark',
        since: watermarkBefore(startedAt),
      });
    }
    await store.state.set(related);
    const errored = (await store.erroredOpportunityIds(OPEN_ERRORS_RETRIED_PER_RUN)).filter(isGuid);
    await store.pending.add(errored.map(normaliseGuid), 'open sync error');
    return { mode: 'incremental', cursor, counts: {} };
  }

  return {
    /** Chooses full or incremental, takes change baselines and queues opportunities touched by related changes. */
    async beginSync(input: BeginSyncInput): Promise<BeginSyncResult> {
      const log = activityLogger(logger);
      const startedAt = now();
      const holder = await store.state.claimRunLock(input.syncId);
      if (holder !== input.syncId) {
        log.info({ syncId: input.syncId, waitingFor: holder }, 'another run is writing: this one waits');
        return { mode: input.full ? 'full' : 'incremental', cursor: '', counts: {}, waitingFor: holder };
      }
      // What runs that never ended (failed, terminated) recorded as written is no one's any more.
      await store.runWritten.clear();
      // The run's reference rows are read beside the baselines, so its first page need not wait for them (on this
      // worker; a page on another reads them itself). A failed read fails beginSync, as any other request would.
      const { value: result, requests } = await tallyRequests(async () => {
        const [begun] = await Promise.all([
          chooseAndBegin(input, startedAt, log),
          context.referenceFor(context.runs.of(input.syncId), []),
        ]);
        return begun;
      });
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
