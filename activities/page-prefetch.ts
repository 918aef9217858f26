/**
 * Reads the next opportunity page ahead while the current one is resolved and written, so Dynamics serves
 * one page while the worker writes another. What is read ahead stays in this worker's memory (never in
 * history) and is used only by the activity that reads the same cursor of the same sync on this worker; an
 * activity that finds nothing (another worker ran the previous page, a retry, an entry too old) reads the
 * page itself, so correctness never depends on it.
 */
export class PagePrefetch<T> {
  private readonly entries = new Map<string, { loaded: Promise<T>; startedAt: number }>();

  /**
   * @param maxEntries pages held at most (each is one page of rows; older ones are dropped first)
   * @param maxAgeMs a page read longer ago than this is not used: the activity reads a fresh one
   */
  constructor(
    private readonly maxEntries = 2,
    private readonly maxAgeMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts `load` for `key` unless it is already under way; its failure is kept for `take` to see. */
  start(key: string, load: () => Promise<T>): void {
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

  /** The read-ahead for `key` (removed: a retried activity reads afresh), or undefined. */
  take(key: string): Promise<T> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (this.now() - entry.startedAt > this.maxAgeMs) return undefined;
    return entry.loaded;
  }

  get size(): number {
    return this.entries.size;
  }
}
