/**
 * A hold kept where every worker of the task queue sees it (the store): service protection counts per user, so
 * one worker's 429 must hold the others too.
 */
export interface SharedHold {
  /** When the latest published hold ends, in epoch ms (0 when there is none); never throws. */
  read(): Promise<number>;
  /** Publishes a hold this process began. */
  publish(openAt: number): void;
}

/**
 * Holds requests until a server-given Retry-After has passed. One gate per org URL in the process: service
 * protection limits are per user per server, so a 429 seen by one request (or one client instance) must also
 * hold every other request to the same org. Each client shares it beyond the process through its own
 * SharedHold (its worker's store), passed in: two clients in one process (a worker and a dry run) may share
 * through different stores.
 */
export class BackoffGate {
  private openAt = 0;

  /** Keeps the gate shut for at least `ms` from now (never shortens an existing hold); the new end, if it moved. */
  holdFor(ms: number): number | undefined {
    const openAt = Date.now() + ms;
    if (openAt <= this.openAt) return undefined;
    this.openAt = openAt;
    return openAt;
  }

  /**
   * Resolves once the gate is open, the shared hold included (read again after each wait: another worker may
   * have published a longer one meanwhile), calling `onWait` when the wait starts and every `tickMs` during it.
   */
  async waitUntilOpen(
    onWait: ((reason: string) => void) | undefined,
    shared: SharedHold | undefined,
    tickMs = 2000,
  ): Promise<void> {
    for (;;) {
      if (shared !== undefined) this.openAt = Math.max(this.openAt, await shared.read());
      const remaining = this.openAt - Date.now();
      if (remaining <= 0) return;
      onWait?.(`Dataverse asked to wait (429 Retry-After); ${Math.ceil(remaining / 1000)} s left`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, tickMs)));
    }
  }
}

const gates = new Map<string, BackoffGate>();

export function backoffGateFor(orgUrl: string): BackoffGate {
  const key = orgUrl.toLowerCase().replace(/\/+$/, '');
  let gate = gates.get(key);
  if (!gate) {
    gate = new BackoffGate();
    gates.set(key, gate);
  }
  return gate;
}

/** Retry-After in ms: delta-seconds or an HTTP-date; `fallbackMs` when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, fallbackMs: number): number {
  if (value === undefined || value.trim() === '') return fallbackMs;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - Date.now());
}
