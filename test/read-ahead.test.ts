/**
 * Reading the next page ahead (SYNC_READ_AHEAD): the activities, run in order as the workflow runs them,
 * against the emulator over https and a SQLite store. The pages after the first come from the read-ahead,
 * the store ends up exactly as the rules say, and every request Dynamics saw is counted by one activity.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  createSyncActivities,
  firstPageSize,
  PagePrefetch,
  RunStates,
  type ReadAheadPage,
} from '../activities';
import type { RuleOptions } from '../rules';
import { keyRanges } from '../workflows';
import { ExpectedStore, readOrganisation, sortSnapshot } from './support/expected';
import { freshSqliteStore, fullSyncInOrder, generatedOrganisation } from './support/activities';

const OPTIONS: RuleOptions = { customFields: [], filterAttribute: undefined };
const PAGE_SIZE = 10;

const OPPORTUNITIES = 45;
const org = generatedOrganisation({ opportunities: OPPORTUNITIES, seed: 11, pageSize: PAGE_SIZE });

/** The rows of each page of a full read: a small first page, then whole pages (1, 10, 10, 10, 10, 4). */
const FIRST = firstPageSize(PAGE_SIZE);
const PAGE_ROWS = [
  FIRST,
  ...Array.from({ length: Math.ceil((OPPORTUNITIES - FIRST) / PAGE_SIZE) }, (_, index) =>
    Math.min(PAGE_SIZE, OPPORTUNITIES - FIRST - index * PAGE_SIZE),
  ),
];
const LATER_PAGES = PAGE_ROWS.length - 1;

/** A fresh store and the activities over it; `lines` receives every log line. */
async function setUp(readAhead?: PagePrefetch<ReadAheadPage>) {
  const { store, config, close } = await freshSqliteStore({
    SYNC_PAGE_SIZE: String(PAGE_SIZE),
    SYNC_READ_AHEAD: 'true',
  });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const activities = createSyncActivities({
    store,
    dynamics: org.dynamics,
    sync: config.sync,
    logger: pino({ level: 'info' }, sink),
    ...(readAhead !== undefined ? { runs: new RunStates({ readAhead: () => readAhead }) } : {}),
  });
  return { store, activities, lines, close };
}

const pageLines = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.msg === 'opportunity page written');

it('pages after the first come from the read-ahead; the store is exact and every request is counted once', async () => {
  const { store, activities, lines, close } = await setUp();
  try {
    const before = org.emulator.stats.requests;
    const reported = await fullSyncInOrder(activities, 'read-ahead-1');
    expect(reported).toBe(org.emulator.stats.requests - before);
    const pages = pageLines(lines);
    expect(pages.map((line) => line.records)).toEqual(PAGE_ROWS);
    expect(pages.map((line) => line.readAhead)).toEqual([false, ...Array<boolean>(LATER_PAGES).fill(true)]);
    const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
    expect(sortSnapshot(await store.snapshot())).toEqual(expected);
  } finally {
    await close();
  }
});

it('a read-ahead that fails costs nothing but its requests: each page is read by its own activity', async () => {
  /** Reads every page ahead as asked, then loses it, as a read-ahead would on a 5xx or a dropped connection. */
  class FailingReadAhead extends PagePrefetch<ReadAheadPage> {
    started = 0;
    override start(key: string, load: () => Promise<ReadAheadPage>): void {
      super.start(key, async () => {
        this.started += 1;
        await load();
        throw new Error('connection reset while reading ahead');
      });
    }
  }
  const failing = new FailingReadAhead();
  const { store, activities, lines, close } = await setUp(failing);
  try {
    await fullSyncInOrder(activities, 'read-ahead-2');
    expect(failing.started).toBe(LATER_PAGES);
    expect(pageLines(lines).map((line) => line.readAhead)).toEqual(
      Array<boolean>(PAGE_ROWS.length).fill(false),
    );
    const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
    expect(sortSnapshot(await store.snapshot())).toEqual(expected);
  } finally {
    await close();
  }
});

it('reads two pages ahead: the page after the next is under way before its activity asks for the next', async () => {
  const prefetch = new PagePrefetch<ReadAheadPage>();
  const { store, activities, lines, close } = await setUp(prefetch);
  try {
    const syncId = 'read-ahead-3';
    const before = org.emulator.stats.requests;
    const begun = await activities.beginSync({ syncId, full: true });
    let cursor: string | undefined = begun.cursor;
    expect(cursor).toBeDefined();
    const first = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor: cursor ?? '' });
    // Page 2 was started by page 1's activity; page 3 starts once page 2's next link is known.
    for (let waited = 0; prefetch.size < 2 && waited < 10_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(prefetch.size).toBe(2);
    let requests = (begun.counts.dynamicsRequests ?? 0) + (first.counts.dynamicsRequests ?? 0);
    for (cursor = first.nextCursor; cursor !== undefined;) {
      const page = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor });
      requests += page.counts.dynamicsRequests ?? 0;
      cursor = page.nextCursor;
    }
    await activities.finishSync({ syncId, mode: 'full' });
    expect(requests).toBe(org.emulator.stats.requests - before);
    expect(pageLines(lines).map((line) => line.readAhead)).toEqual([
      false,
      ...Array<boolean>(LATER_PAGES).fill(true),
    ]);
    expect([prefetch.size, prefetch.waitingCount]).toEqual([0, 0]);
    const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
    expect(sortSnapshot(await store.snapshot())).toEqual(expected);
  } finally {
    await close();
  }
});

it('partitions of one run on one worker each read their own pages ahead: no page is read twice', async () => {
  const { store, activities, lines, close } = await setUp();
  try {
    const syncId = 'read-ahead-4';
    const pageReads = () =>
      org.emulator.stats.log.filter(
        (entry) => entry.batch === undefined && entry.path.endsWith('/opportunities'),
      ).length;
    const begun = await activities.beginSync({ syncId, full: true, baselineOpportunities: true });
    const readsBefore = pageReads();
    const cursors: (string | undefined)[] = await Promise.all(
      keyRanges(4).map(async (range) => (await activities.beginPartition({ range })).cursor),
    );
    let pages = 0;
    const rowsOf: number[][] = cursors.map(() => []);
    // One page of each partition in turn, as a worker running the four children takes their activities.
    while (cursors.some((cursor) => cursor !== undefined)) {
      for (const [index, cursor] of cursors.entries()) {
        if (cursor === undefined) continue;
        const page = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor });
        pages += 1;
        rowsOf[index]?.push(Number(pageLines(lines).at(-1)?.records));
        cursors[index] = page.nextCursor;
      }
    }
    // A partition's first page is whole (a small one is for a whole table's read): pages of 10 but the last.
    for (const rows of rowsOf) {
      const total = rows.reduce((sum, n) => sum + n, 0);
      expect(rows).toEqual(
        Array.from({ length: Math.ceil(total / PAGE_SIZE) }, (_, i) =>
          Math.min(PAGE_SIZE, total - i * PAGE_SIZE),
        ),
      );
    }
    await activities.finishSync({ syncId, mode: 'full' });
    expect(begun.cursor).toBeDefined();
    expect(pageReads() - readsBefore).toBe(pages);
    const read = pageLines(lines).map((line) => line.readAhead);
    expect(read.filter((ahead) => ahead === false)).toHaveLength(4);
    const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(org.dynamics, OPTIONS));
    expect(sortSnapshot(await store.snapshot())).toEqual(expected);
  } finally {
    await close();
  }
});
