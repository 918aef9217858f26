/**
 * Opportunity pages: each activity reads one page (first page, next link or delta link), resolves it with its
 * related rows and writes it (store/page-writer.ts). The next two pages are read ahead meanwhile
 * (SYNC_READ_AHEAD), so Dynamics serves one page while the worker writes another.
 */
import { isFilteredRead, isFirstPageUrl, pageChain, tallyRequests } from '../dynamics';
import { activityLogger, outsideActivity } from './context';
import { encodeChangeState, nextKey } from './change-state';
import { isChangeTokenExpired } from './failures';
import type { PreparedPage, ReadAheadPage, RunState } from './run-state';
import { beat, toCounts, type SyncContext } from './sync-context';
import type { PageResult, SyncMode } from '../workflows';

/** Where a page is: its run, how it is read and its cursor (first page, next link or delta link). */
interface PagePosition {
  run: RunState;
  mode: SyncMode;
  cursor: string;
  trackChanges: boolean;
}

const readAheadKey = (at: PagePosition): string => JSON.stringify([at.mode, at.trackChanges, at.cursor]);

/**
 * The rows the first page of a whole table's read asks for: a twentieth of the page size (250 at the defaults).
 * That page cannot be read ahead (no page comes before it), so it is read, resolved and written alone while later
 * pages overlap; small, it is written within about a later page's time, and the next page is being read
 * meanwhile. It costs one page more a full sync (a few requests). A delta link's first page is whole: an
 * incremental run's changes mostly fit in one page. So is a filtered read's: a backfill's partitions start side
 * by side, and a small first page each would cost a page more each; a watermark's changes are an incremental's.
 */
export function firstPageSize(pageSize: number): number {
  return Math.max(1, Math.ceil(pageSize / 20));
}

export function pageActivities(context: SyncContext) {
  const { store, dynamics, logger, runs, opportunities, sync } = context;

  /**
   * Reads one opportunity page and its related rows and resolves them. `onNextLink` hears the next page's link
   * as soon as the page itself has arrived (`announce: 'read'`: a page read ahead, so that the one after it
   * starts early), or once its related rows are read too (`'resolved'`: the page an activity waits for, which
   * then does not share Dynamics with the pages after it). The rows read are let go of once resolved.
   */
  async function loadPage(
    at: PagePosition,
    onNextLink: (link: string) => void,
    announce: 'read' | 'resolved',
  ): Promise<PreparedPage> {
    const page = await dynamics.getPage(at.cursor, {
      trackChanges: at.trackChanges,
      ...(isFirstPageUrl(at.cursor) && !isFilteredRead(at.cursor)
        ? { pageSize: firstPageSize(sync.pageSize) }
        : {}),
    });
    beat();
    if (page.nextLink !== undefined && announce === 'read') onNextLink(page.nextLink);
    const seenSyncId = at.mode === 'full' ? at.run.syncId : undefined;
    const resolved = await context.resolveWithRelated(at.run, page.records, page.deletedIds, seenSyncId);
    if (page.nextLink !== undefined && announce === 'resolved') onNextLink(page.nextLink);
    return {
      ...resolved,
      ...(page.nextLink !== undefined ? { nextLink: page.nextLink } : {}),
      ...(page.deltaLink !== undefined ? { deltaLink: page.deltaLink } : {}),
      records: page.records.length,
      deleted: page.deletedIds.length,
    };
  }

  /**
   * Starts reading the page at `at` ahead, outside the current activity (no heartbeats, its own request tally).
   * Once that page's next link is known, the page after it is asked for too, to start as soon as a place is
   * free: reading two pages ahead keeps Dynamics and the worker busy while the writer commits a page. A run
   * that has ended (or that this worker let go of) reads nothing more ahead.
   */
  function startReadAhead(at: PagePosition, whenRoom = false): void {
    if (at.run.ended) return;
    const readAhead = at.run.readAhead(pageChain(at.cursor));
    if (readAhead === undefined) return;
    const load = (): Promise<ReadAheadPage> =>
      outsideActivity(() =>
        tallyRequests(() => loadPage(at, (next) => startReadAhead({ ...at, cursor: next }, true), 'read')),
      );
    if (whenRoom) readAhead.startWhenRoom(readAheadKey(at), load);
    else readAhead.start(readAheadKey(at), load);
  }

  /** The page at a position: read ahead by the previous page's activity on this worker, or read now. */
  async function pageAt(
    at: PagePosition,
  ): Promise<{ page: PreparedPage; readAheadRequests: number; wasReadAhead: boolean }> {
    const read = pageChain(at.cursor);
    const ahead = await at.run
      .readAhead(read)
      ?.take(readAheadKey(at))
      ?.catch(() => undefined);
    const found =
      ahead !== undefined
        ? { page: ahead.value, readAheadRequests: ahead.requests, wasReadAhead: true }
        : {
            page: await loadPage(at, (next) => startReadAhead({ ...at, cursor: next }), 'resolved'),
            readAheadRequests: 0,
            wasReadAhead: false,
          };
    const next = found.page.nextLink;
    if (next === undefined) at.run.readDone(read);
    else if (found.wasReadAhead) startReadAhead({ ...at, cursor: next });
    return found;
  }

  /** The page at the cursor, read (or taken from the read-ahead) and resolved. */
  async function readAndResolvePage(input: {
    syncId: string;
    mode: SyncMode;
    cursor: string;
  }): Promise<'changeTokenExpired' | (PreparedPage & { wasReadAhead: boolean; requests: number })> {
    const { value, requests } = await tallyRequests(async () => {
      const tracked = await context.changeTracked(opportunities);
      // Filtered reads (watermarks, backfill partitions) cannot track changes.
      const trackChanges = tracked && !isFilteredRead(input.cursor);
      try {
        return await pageAt({
          run: runs.of(input.syncId),
          mode: input.mode,
          cursor: input.cursor,
          trackChanges,
        });
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

  return {
    /** Reads one opportunity page (first page, next link or delta link), resolves it and writes it. */
    async syncOpportunityPage(input: {
      syncId: string;
      mode: SyncMode;
      cursor: string;
    }): Promise<PageResult> {
      const log = activityLogger(logger);
      await context.holdRunLock(input.syncId);
      const read = await readAndResolvePage(input);
      if (read === 'changeTokenExpired') return { changeTokenExpired: true, counts: {} };
      const written = await context.writeResolved(read);
      if (read.nextLink === undefined && read.deltaLink !== undefined) {
        // The change state moves only once the page it ends is written.
        await store.state.set({
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
      return context.counted({
        nextCursor: read.nextLink,
        counts: toCounts(written, read.requests, read.skipped),
      });
    },
  };
}
