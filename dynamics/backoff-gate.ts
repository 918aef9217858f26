/**
 * Holds requests until a server-given Retry-After has passed. One gate per org URL in the process: service
 * protection limits are per user per server, so a 429 seen by one request (or one client instance) must also
 * hold every other request to the same org.
 */
export class BackoffGate {
  private openAt = 0;
  private readonly listeners = new Set<(openAt: number) => void>();

  /** Keeps the gate shut for at least `ms` from now (never shortens an existing hold); tells the listeners. */
  holdFor(ms: number): void {
    const openAt = Date.now() + ms;
    if (openAt <= this.openAt) return;
    this.openAt = openAt;
    for (const listener of this.listeners) listener(openAt);
  }

  /** Adopts a hold learnt elsewhere (another worker's 429), without telling the listeners again. */
  holdUntil(epochMs: number): void {
    this.openAt = Math.max(this.openAt, epochMs);
  }

  /** Called with the new opening time whenever a 429 extends the hold. */
  onHold(listener: (openAt: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the gate is open, calling `onWait` when the wait starts and every `tickMs` during it. */
  async waitUntilOpen(onWait: ((reason: string) => void) | undefined, tickMs = 2000): Promise<void> {
    for (let remaining = this.openAt - Date.now(); remaining > 0; remaining = this.openAt - Date.now()) {
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
