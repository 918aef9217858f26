/**
 * What every phase of a sync works with: its dependencies, each run's state, and the steps that opportunity
 * pages and queued batches share (read an opportunity's related rows, resolve them by the rules, write them).
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { SyncConfig } from '../config';
import {
  ACCOUNTS,
  CONNECTION_ROLE_COLUMNS,
  CONNECTIONS,
  CONTACTS,
  CURRENCY_COLUMNS,
  isGuid,
  normaliseGuid,
  opportunityTable,
  type DynamicsClient,
  type RawRecord,
  type TableSpec,
} from '../dynamics';
import type { Logger } from '../logging';
import type { OppsyncMetrics } from '../metrics';
import {
  deletedOpportunityIds,
  hasUnknownCurrency,
  parentAccountIds,
  parseConnectionRoles,
  parseCurrencies,
  referencedIds,
  resolvePage,
  writtenByPage,
  type RuleOptions,
} from '../rules';
import { RUN_LOCK_LEASE_MS, type MarketoStore, type WriteCounts, type WritePageInput } from '../store';
import type { SyncCounts } from '../workflows';
import { heartbeatIfInActivity } from './context';
import type { RunReference, RunState } from './run-state';
import { RunStates } from './run-state';
import { shareBackoff } from './shared-backoff';

export interface SyncActivityDependencies {
  store: MarketoStore;
  dynamics: DynamicsClient;
  sync: SyncConfig;
  logger: Logger;
  now?: () => Date;
  /** Each run's state on this worker (tests pass their own to look at it or to give it their read-ahead). */
  runs?: RunStates;
  /** Where the rows written and the runs finished are counted (OPPSYNC_METRICS_ADDRESS); none when off. */
  metrics?: Pick<OppsyncMetrics, 'recordCounts' | 'recordRun'>;
}

export type SyncContext = ReturnType<typeof createSyncContext>;

export const beat = heartbeatIfInActivity;

/** How long a table's change-tracking setting is taken as known. */
const TRACKING_FRESH_MS = 15 * 60_000;

export function toCounts(write: WriteCounts, requests: number, skipped: number): Partial<SyncCounts> {
  return { ...write, dynamicsRequests: requests, skipped, pages: 1 };
}

export function createSyncContext(deps: SyncActivityDependencies) {
  const { store, dynamics, sync, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const opportunities = opportunityTable(sync.opportunityFields, sync.filterAttribute);
  const ruleOptions: RuleOptions = {
    customFields: [...sync.opportunityFields],
    filterAttribute: sync.filterAttribute,
  };
  const runs = deps.runs ?? RunStates.reading(sync.readAhead);
  shareBackoff(dynamics, store, logger);

  /** An activity's counts, once they are written: counted for the metrics once per activity, never per row. */
  function counted<T extends { counts: Partial<SyncCounts> }>(result: T): T {
    metrics?.recordCounts(result.counts);
    return result;
  }

  /**
   * Whether `table` tracks changes: the organisation's setting, not a run's, so a worker asks at most once every
   * 15 minutes (otherwise each run would pay a request per table); a failed answer is asked again.
   */
  const tracking = new Map<string, { flag: Promise<boolean>; askedAt: number }>();
  function changeTracked(table: TableSpec): Promise<boolean> {
    const known = tracking.get(table.logicalName);
    if (known !== undefined && Date.now() - known.askedAt < TRACKING_FRESH_MS) return known.flag;
    const flag = dynamics.isChangeTrackingEnabled(table.logicalName);
    flag.catch(() => tracking.delete(table.logicalName));
    tracking.set(table.logicalName, { flag, askedAt: Date.now() });
    return flag;
  }

  /** Keeps a run's reference rows for its later pages; a failed read is forgotten, so a retry reads again. */
  function rememberReference(run: RunState, reference: Promise<RunReference>): Promise<RunReference> {
    reference.catch(() => {
      if (run.reference === reference) run.reference = undefined;
    });
    run.reference = reference;
    return reference;
  }

  /**
   * The run's reference rows for a page of opportunities. Connection roles and currencies change rarely: one
   * $batch a run (on each worker) reads both. A page pointing to a currency the run's read did not name (one
   * added since) reads the currencies again, once a run; a currency still unknown is a sync error.
   */
  async function referenceFor(run: RunState, records: RawRecord[]): Promise<RunReference> {
    const cached =
      run.reference ??
      rememberReference(
        run,
        dynamics
          .getAllMany([
            { entitySet: 'connectionroles', select: CONNECTION_ROLE_COLUMNS, annotations: [] },
            { entitySet: 'transactioncurrencies', select: CURRENCY_COLUMNS, annotations: [] },
          ])
          .then(([roles = [], currencies = []]) => ({
            roles: parseConnectionRoles(roles),
            currencies: parseCurrencies(currencies),
            currenciesReread: false,
          })),
      );
    const reference = await cached;
    if (reference.currenciesReread || !hasUnknownCurrency(records, reference.currencies)) return reference;
    // Another page of the run may have started reading them again meanwhile: its read is this page's too.
    if (run.reference !== undefined && run.reference !== cached) return run.reference;
    return rememberReference(
      run,
      dynamics
        .getAll('transactioncurrencies', CURRENCY_COLUMNS, { annotations: [] })
        .then((rows) => ({ ...reference, currencies: parseCurrencies(rows), currenciesReread: true })),
    );
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

  /**
   * Reads a page of opportunities with what its rules need (connections, customers, stakeholders, accounts) and
   * resolves it. Contacts and accounts the run has written (sync_run_written, on any worker) are pointed to, not
   * read again: a remembered contact's parent was written with it, unless it could not be (then it is read
   * again, as the page that wrote the contact read it, and gives the same error).
   */
  async function resolveWithRelated(
    run: RunState,
    records: RawRecord[],
    deletedIds: string[],
    seenSyncId: string | undefined,
  ): Promise<{ input: WritePageInput; skipped: number }> {
    const { syncId } = run;
    const { roles, currencies } = await referenceFor(run, records);
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
    const writtenContacts = await store.runWritten.contacts(syncId, wanted.contactIds);
    const contacts = await rowsByIds(
      CONTACTS,
      wanted.contactIds.filter((id) => !writtenContacts.has(id)),
    );
    beat();
    const rememberedParents = [...writtenContacts.values()].filter((parent) => parent !== null);
    const accountIds = [
      ...new Set([...wanted.accountIds, ...parentAccountIds(contacts), ...rememberedParents]),
    ];
    const writtenAccounts = await store.runWritten.accounts(syncId, accountIds);
    const accounts = await rowsByIds(
      ACCOUNTS,
      accountIds.filter((id) => !writtenAccounts.has(id)),
    );
    beat();
    const resolved = resolvePage({
      opportunities: records,
      connections,
      contacts,
      accounts,
      roles,
      currencies,
      written: { contacts: writtenContacts, accounts: writtenAccounts },
      options: ruleOptions,
    });
    // resolved.stakeholderConnections: the connections that gave a role, so a later delete (the delta says only
    // its id) can be traced back to its opportunity.
    return {
      input: {
        ...resolved,
        deletedOpportunityIds: deletedOpportunityIds(deletedIds),
        seenSyncId,
        runWritten: { syncId, ...writtenByPage(resolved, contacts) },
      },
      skipped: resolved.skippedIds.length,
    };
  }

  /**
   * Writes a resolved page (store/page-writer.ts), with the run's record of what it wrote. The page's rows are let
   * go of as the write starts (the SQLite writer thread has its own copy by then), so they are not held twice
   * while it runs. Not async on purpose: no frame of this function outlives the hand-over.
   */
  function writeResolved(page: { input: WritePageInput | undefined }): Promise<WriteCounts> {
    const { input } = page;
    if (input === undefined) throw new Error('this page has been written already');
    page.input = undefined;
    return store.writePage(input, now().toISOString());
  }

  /** Renews this run's lock before it writes; a run that lost it to another stops rather than write beside it. */
  async function holdRunLock(syncId: string): Promise<void> {
    const holder = await store.state.claimRunLock(syncId);
    if (holder !== syncId)
      throw ApplicationFailure.nonRetryable(
        `another run (${holder.split('/')[0]}) took the run lock after this run had not renewed it for ` +
          `${RUN_LOCK_LEASE_MS / 60_000} minutes; this run stops so that two runs never write at once`,
        'RunLockLost',
      );
  }

  return {
    store,
    dynamics,
    sync,
    logger,
    metrics,
    now,
    runs,
    opportunities,
    feeds: [CONNECTIONS, CONTACTS, ACCOUNTS] as TableSpec[],
    counted,
    changeTracked,
    referenceFor,
    rowsByIds,
    resolveWithRelated,
    writeResolved,
    holdRunLock,
  };
}
