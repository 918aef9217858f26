/**
 * What a sync run keeps between its activities on one worker, and nothing else: the run's reference rows, the
 * contacts and accounts it has written, and its pages read ahead. Each run has its
 * own; finishSync (or a failed run's releaseRunLock) ends it, and only the newest few runs are kept, so a run
 * whose activities moved to another worker leaves nothing behind for long. Nothing here is needed for
 * correctness: an activity that finds nothing (another worker, a retry, a restart) reads what it needs itself.
 */
import type { ConnectionRole, Currencies, WrittenThisRun } from '../rules';
import type { WritePageInput } from '../store';
import { PagePrefetch } from './page-prefetch';

/** What every page of a run resolves against: read once a run (the currencies again once, for a new one). */
export interface RunReference {
  roles: Map<string, ConnectionRole>;
  currencies: Currencies;
  /** Whether this run has read the currencies again, for a currency added since its first read. */
  currenciesReread: boolean;
}

/** What one page wrote, as its run remembers it (see writtenByPage). */
export interface PageWrites {
  contacts: [string, string | null][];
  accounts: string[];
}

/**
 * One opportunity page read and resolved by the rules. The rows read from Dynamics are gone by now: a page
 * read ahead waits for its activity as the rows it will write, not as the (larger) rows it was read as.
 */
export interface PreparedPage {
  /** What to write; handed over to the store by the write, which lets go of it here. */
  input: WritePageInput | undefined;
  /** The contacts and accounts the page writes, for later pages of its run once it is committed. */
  writes: PageWrites;
  skipped: number;
  nextLink?: string;
  deltaLink?: string;
  records: number;
  deleted: number;
}

/** A page read ahead and resolved, with the requests reading it took (counted for the activity that uses it). */
export interface ReadAheadPage {
  value: PreparedPage;
  requests: number;
}

/**
 * The contacts and accounts a run has written, so that a later page of the run points to them instead of reading
 * them from Dynamics and writing them again: over a full sync every page otherwise reads most of its contacts
 * and accounts once more (100,000 generated opportunities: 193,428 contact and 158,243 account reads for 99,450
 * and 50,944 distinct ones). Only committed pages are remembered, so a page never leaves out a row the store
 * does not hold. What a later page sees of a remembered record is what the run read earlier; a change made since
 * is after the run's change-tracking baseline and reaches the store with the next incremental sync. At most
 * `maxIds` ids are kept; past that a page reads what it needs, as without this.
 */
export class RunWrites implements WrittenThisRun {
  /** Each written contact with the parent account it was read with (null: none). */
  readonly contacts = new Map<string, string | null>();
  readonly accounts = new Set<string>();

  constructor(private readonly maxIds: number) {}

  get size(): number {
    return this.contacts.size + this.accounts.size;
  }

  /** Remembers a page's rows once its transaction has committed. */
  remember(page: PageWrites): void {
    for (const [contactId, parentId] of page.contacts) {
      if (this.size >= this.maxIds) return;
      this.contacts.set(contactId, parentId);
    }
    for (const accountId of page.accounts) {
      if (this.size >= this.maxIds) return;
      this.accounts.add(accountId);
    }
  }

  /**
   * Forgets what the run wrote, after a page write failed: the store may no longer hold it (a lead deleted by
   * hand fails the write of a page whose roles point to it), so the retry reads and writes every row itself.
   */
  forget(): void {
    this.contacts.clear();
    this.accounts.clear();
  }
}

/** One run's state on this worker. */
export class RunState {
  /** The run's reference rows; a failed read is forgotten, so a retry reads again. */
  reference: Promise<RunReference> | undefined;
  readonly written: RunWrites;
  /** Pages read ahead (SYNC_READ_AHEAD); undefined when off. */
  readonly readAhead: PagePrefetch<ReadAheadPage> | undefined;

  constructor(maxIds: number, readAhead: PagePrefetch<ReadAheadPage> | undefined) {
    this.written = new RunWrites(maxIds);
    this.readAhead = readAhead;
  }
}

export interface RunStatesOptions {
  /** Runs kept at most on this worker (the oldest is dropped first). */
  maxRuns?: number;
  /** Ids each run remembers at most (see RunWrites). */
  maxIds?: number;
  /** Each run's read-ahead; undefined: none (SYNC_READ_AHEAD=false). */
  readAhead?: () => PagePrefetch<ReadAheadPage> | undefined;
}

/** The runs this worker has state for, by sync id (which survives continue-as-new and retries). */
export class RunStates {
  private readonly runs = new Map<string, RunState>();
  private readonly maxRuns: number;
  private readonly maxIds: number;
  private readonly readAhead: () => PagePrefetch<ReadAheadPage> | undefined;

  constructor(options: RunStatesOptions = {}) {
    this.maxRuns = options.maxRuns ?? 4;
    this.maxIds = options.maxIds ?? 250_000;
    this.readAhead = options.readAhead ?? (() => new PagePrefetch<ReadAheadPage>());
  }

  /** The run's state, made on its first use on this worker. */
  of(syncId: string): RunState {
    let run = this.runs.get(syncId);
    if (run === undefined) {
      run = new RunState(this.maxIds, this.readAhead());
      this.runs.set(syncId, run);
      while (this.runs.size > this.maxRuns) {
        const oldest = this.runs.keys().next().value;
        if (oldest === undefined) break;
        this.runs.delete(oldest);
      }
    }
    return run;
  }

  /** Ends a run: its state goes. */
  end(syncId: string): void {
    this.runs.delete(syncId);
  }

  get size(): number {
    return this.runs.size;
  }
}
