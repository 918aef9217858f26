/**
 * Reads the next opportunity page ahead while the current one is resolved and written, so Dynamics serves
 * one page while the worker writes another. What is read ahead stays in this worker's memory (never in
 * history) and is used only by the activity that reads the same cursor of the same sync on this worker; an
 * activity that finds nothing (another worker ran the previous page, a retry, an entry too old) reads the
 * page itself, so correctness never depends on it.
 */
/** How long a page read ahead stays good: older, the activity reads a fresh one. */
export const READ_AHEAD_MAX_AGE_MS = 60_000;

export class PagePrefetch<T> {
  private readonly entries = new Map<string, { loaded: Promise<T>; startedAt: number }>();
  /** Reads asked for with startWhenRoom while every place was taken, oldest first. */
  private readonly waiting = new Map<string, () => Promise<T>>();

  /**
   * @param maxEntries pages held at most (each is one page of rows; older ones are dropped first)
   * @param maxAgeMs a page read longer ago than this is not used: the activity reads a fresh one
   */
  constructor(
    private readonly maxEntries = 2,
    private readonly maxAgeMs = READ_AHEAD_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts `load` for `key` unless it is already under way; its failure is kept for `take` to see. */
  start(key: string, load: () => Promise<T>): void {
    this.waiting.delete(key);
    if (this.entries.has(key)) return;
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    const loaded = load();
    // A failed read-ahead is not an error of its own: the activity that needs the page reads it again.
    loaded.catch(() => undefined);
    this.entries.set(key, { loaded, startedAt: this.now() });
  }

  /**
   * Starts `load` for `key` if a place is free; otherwise it waits (without dropping any page) until `take`
   * frees one. This is how reading goes two pages ahead: the page after a page read ahead is asked for as soon
   * as that page's next link is known, and starts once the activity before it has taken its own page.
   */
  startWhenRoom(key: string, load: () => Promise<T>): void {
    if (this.entries.has(key)) return;
    if (this.entries.size < this.maxEntries) {
      this.start(key, load);
      return;
    }
    this.waiting.delete(key);
    this.waiting.set(key, load);
    // Only the newest few can ever start: a sync whose activities moved elsewhere leaves none behind.
    while (this.waiting.size > this.maxEntries) {
      const oldest = this.waiting.keys().next().value;
      if (oldest === undefined) break;
      this.waiting.delete(oldest);
    }
  }

  /** The read-ahead for `key` (removed: a retried activity reads afresh), or undefined. */
  take(key: string): Promise<T> | undefined {
    const entry = this.entries.get(key);
    this.waiting.delete(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.startWaiting();
    if (this.now() - entry.startedAt > this.maxAgeMs) return undefined;
    return entry.loaded;
  }

  /**
   * Drops the reads still waiting and settles once every read under way has (its result or failure is let go):
   * a worker that stops waits for them, so that none outlives the store and connections it reads through.
   */
  async drain(): Promise<void> {
    this.waiting.clear();
    const loads = [...this.entries.values()].map((entry) => entry.loaded);
    this.entries.clear();
    await Promise.allSettled(loads);
  }

  /** Reads still waiting for a place. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  private startWaiting(): void {
    for (const [key, load] of this.waiting) {
      if (this.entries.size >= this.maxEntries) return;
      this.start(key, load);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
