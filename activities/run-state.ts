/**
 * What a sync run keeps between its activities on one worker, and nothing else: the run's reference rows and its
 * pages read ahead. Each run has its own; finishSync (or a failed run's releaseRunLock) ends it, and only the
 * newest few runs are kept, so a run whose activities moved to another worker leaves nothing behind for long.
 * Nothing here is needed for correctness: an activity that finds nothing (another worker, a retry, a restart)
 * reads what it needs itself. What the run has written is in the store (sync_run_written), shared by its workers.
 */
import type { ConnectionRole, Currencies } from '../rules';
import type { WritePageInput } from '../store';
import { PagePrefetch, READ_AHEAD_MAX_AGE_MS } from './page-prefetch';

/** What every page of a run resolves against: read once a run (the currencies again once, for a new one). */
export interface RunReference {
  roles: Map<string, ConnectionRole>;
  currencies: Currencies;
  /** Whether this run has read the currencies again, for a currency added since its first read. */
  currenciesReread: boolean;
}

/**
 * One opportunity page read and resolved by the rules. The rows read from Dynamics are gone by now: a page
 * read ahead waits for its activity as the rows it will write, not as the (larger) rows it was read as.
 */
export interface PreparedPage {
  /** What to write; handed over to the store by the write, which lets go of it here. */
  input: WritePageInput | undefined;
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
 * Reads of one run that read pages ahead at once on a worker (as many as the activities a worker takes at once
 * from its own workflow tasks, worker/create-worker.ts): each of a backfill's partitions is a read. A read past
 * this bound is not read ahead (its activities read their own pages) until a place is free; no read ever drops
 * another's pages, which would cost their requests twice.
 */
export const READS_AHEAD_PER_RUN = 4;
/**
 * A read whose pages no activity on this worker has asked for this long (they moved elsewhere) gives its place:
 * as long as a page read ahead stays good.
 */
export const READ_IDLE_MS = READ_AHEAD_MAX_AGE_MS;

/** One run's state on this worker. */
export class RunState {
  /** The run's reference rows; a failed read is forgotten, so a retry reads again. */
  reference: Promise<RunReference> | undefined;
  /** Set once the run has ended on this worker: a page still being read ahead for it starts no other. */
  ended = false;
  /** Pages read ahead, by the read they belong to (`pageChain`), with when an activity last used it. */
  private readonly reads = new Map<string, { prefetch: PagePrefetch<ReadAheadPage>; usedAt: number }>();
  /** Reads let go of while pages were still being read for them (see `end`). */
  private readonly letGo = new Set<Promise<void>>();

  constructor(
    readonly syncId: string,
    private readonly newReadAhead: () => PagePrefetch<ReadAheadPage> | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The pages read ahead for one read of the run; undefined when off (SYNC_READ_AHEAD) or while
   * READS_AHEAD_PER_RUN other reads hold every place.
   */
  readAhead(read: string): PagePrefetch<ReadAheadPage> | undefined {
    const known = this.reads.get(read);
    if (known !== undefined) {
      known.usedAt = this.now();
      return known.prefetch;
    }
    for (const [other, { usedAt }] of this.reads) {
      if (this.reads.size < READS_AHEAD_PER_RUN) break;
      if (this.now() - usedAt > READ_IDLE_MS) this.letGoOf(other);
    }
    if (this.reads.size >= READS_AHEAD_PER_RUN) return undefined;
    const prefetch = this.newReadAhead();
    if (prefetch !== undefined) this.reads.set(read, { prefetch, usedAt: this.now() });
    return prefetch;
  }

  /** The read has come to its last page: its place goes to another read. */
  readDone(read: string): void {
    this.letGoOf(read);
  }

  /** Ends the run here; resolves once the pages it is reading ahead are in (see PagePrefetch.drain). */
  async end(): Promise<void> {
    this.ended = true;
    for (const read of [...this.reads.keys()]) this.letGoOf(read);
    await Promise.all([...this.letGo]);
  }

  private letGoOf(read: string): void {
    const known = this.reads.get(read);
    if (known === undefined) return;
    this.reads.delete(read);
    const draining = known.prefetch.drain();
    this.letGo.add(draining);
    void draining.then(() => this.letGo.delete(draining));
  }
}

export interface RunStatesOptions {
  /** Runs kept at most on this worker (the oldest is dropped first). */
  maxRuns?: number;
  /** The read-ahead of each read of a run; undefined: none (SYNC_READ_AHEAD=false). */
  readAhead?: () => PagePrefetch<ReadAheadPage> | undefined;
}

/** The runs this worker has state for, by sync id (which survives continue-as-new and retries). */
export class RunStates {
  private readonly runs = new Map<string, RunState>();
  private readonly maxRuns: number;
  private readonly readAhead: () => PagePrefetch<ReadAheadPage> | undefined;

  /** The runs of a worker whose configuration reads pages ahead (SYNC_READ_AHEAD) or not. */
  static reading(readAhead: boolean): RunStates {
    return new RunStates({ readAhead: () => (readAhead ? new PagePrefetch<ReadAheadPage>() : undefined) });
  }

  constructor(options: RunStatesOptions = {}) {
    this.maxRuns = options.maxRuns ?? 4;
    this.readAhead = options.readAhead ?? (() => new PagePrefetch<ReadAheadPage>());
  }

  /** The run's state, made on its first use on this worker. */
  of(syncId: string): RunState {
    let run = this.runs.get(syncId);
    if (run === undefined) {
      run = new RunState(syncId, this.readAhead);
      this.runs.set(syncId, run);
      while (this.runs.size > this.maxRuns) {
        const oldest = this.runs.keys().next().value;
        if (oldest === undefined) break;
        this.end(oldest);
      }
    }
    return run;
  }

  /** Ends a run: its state goes (its pages being read ahead finish, and start no others). */
  end(syncId: string): void {
    void this.runs.get(syncId)?.end();
    this.runs.delete(syncId);
  }

  /** Ends every run once its pages under way are read (the worker stops: see PagePrefetch.drain). */
  async endAll(): Promise<void> {
    const running = [...this.runs.values()];
    this.runs.clear();
    await Promise.all(running.map((run) => run.end()));
  }

  get size(): number {
    return this.runs.size;
  }
}
