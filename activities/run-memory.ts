import type { WrittenThisRun } from '../rules';
import { GuidMap, GuidSet } from './guid-table';

/** What one page wrote, as its run remembers it (see writtenByPage). */
export interface PageWrites {
  contacts: [string, string | null][];
  accounts: string[];
}

/** One run's writes: what the rules see of it (WrittenThisRun), and how many ids it holds. */
export class RunWrites implements WrittenThisRun {
  readonly contacts = new GuidMap();
  readonly accounts = new GuidSet();

  get size(): number {
    return this.contacts.size + this.accounts.size;
  }
}

/**
 * The contacts and accounts each sync run has written on this worker, so that a later page of the same run
 * points to them instead of reading them from Dynamics and writing them again: over a full sync every page
 * otherwise reads most of its contacts and accounts once more (100,000 generated opportunities: 193,428 contact
 * and 158,243 account reads for 99,450 and 50,944 distinct ones).
 *
 * Only committed pages are remembered, so a page never leaves out a row the store does not hold. What a later page
 * sees of a remembered record is what the run read earlier; a change made since is after the run's change-tracking
 * baseline (taken before its first page) and reaches the store with the next incremental sync, as any change made
 * after a page was read does. Memory is bounded: each run remembers at most `maxIds` ids, packed outside the heap
 * (see guid-table.ts: 16 bytes an id, 32 with a contact's parent, a quarter of the table kept free: about 6 MiB
 * for the 150,000 above), and only the newest `maxRuns` runs are kept; past the bound a page reads what it needs,
 * as without this.
 */
export class RunMemory {
  private readonly runs = new Map<string, RunWrites>();

  constructor(
    private readonly maxIds = 250_000,
    private readonly maxRuns = 2,
  ) {}

  /** What the run has written so far on this worker (empty for a run this worker has not written for). */
  of(syncId: string): RunWrites {
    return this.runs.get(syncId) ?? EMPTY;
  }

  /** Remembers a page's rows once its transaction has committed. */
  remember(syncId: string, page: PageWrites): void {
    let run = this.runs.get(syncId);
    if (run === undefined) {
      run = new RunWrites();
      this.runs.set(syncId, run);
      while (this.runs.size > this.maxRuns) {
        const oldest = this.runs.keys().next().value;
        if (oldest === undefined) break;
        this.runs.delete(oldest);
      }
    }
    for (const [contactId, parentId] of page.contacts) {
      if (run.size >= this.maxIds) return;
      run.contacts.set(contactId, parentId);
    }
    for (const accountId of page.accounts) {
      if (run.size >= this.maxIds) return;
      run.accounts.add(accountId);
    }
  }

  /**
   * Forgets what the run wrote, after a page write failed: the store may no longer hold it (a lead deleted by
   * hand fails the write of a page whose roles point to it), so the retry reads and writes every row itself.
   */
  forget(syncId: string): void {
    this.runs.delete(syncId);
  }
}

const EMPTY = new RunWrites();
