/** REST call counters and the call log; the window and early-call figures are computed from the log. */
import type { MarketoEmulatorStats, MarketoLogEntry } from './types';

/** The most arrivals in any half-open window [t, t + windowMs). */
export function maxArrivalsInWindow(log: readonly MarketoLogEntry[], windowMs: number): number {
  const arrivals = log.map((entry) => entry.at).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < arrivals.length; end++) {
    while ((arrivals[end] as number) - (arrivals[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/**
 * Calls that arrived less than `minWaitMs` after a 606 or 615 was answered, whichever client sent them. A call
 * that arrived before that answer is not counted: no client could yet know of it.
 */
export function countEarlyCalls(log: readonly MarketoLogEntry[], minWaitMs: number): number {
  const refusals = log
    .map((entry, index) => ({ entry, index }))
    .filter(({ entry }) => entry.code === '606' || entry.code === '615');
  // The log is in order of answer, so a call after a refusal comes later in it; clocks tick in whole
  // milliseconds, so the time alone cannot order a refusal and a call in the same millisecond.
  return log.filter((entry, index) =>
    refusals.some(
      (refusal) =>
        refusal.index < index &&
        entry.at >= refusal.entry.answeredAt &&
        entry.at < refusal.entry.answeredAt + minWaitMs,
    ),
  ).length;
}

export interface StatsRecorder extends MarketoEmulatorStats {
  /** A REST call arrived: counted, and being handled until `finished`. */
  started(): void;
  finished(entry: MarketoLogEntry): void;
}

export function createStats(): StatsRecorder {
  let handling = 0;
  let maxHandling = 0;
  const stats: StatsRecorder = {
    calls: 0,
    tokenRequests: 0,
    log: [],
    maxCallsInAnyWindow: (windowMs = 20_000) => maxArrivalsInWindow(stats.log, windowMs),
    maxConcurrentSeen: () => maxHandling,
    earlyCalls: (minWaitMs = 1000) => countEarlyCalls(stats.log, minWaitMs),
    started() {
      stats.calls++;
      handling++;
      maxHandling = Math.max(maxHandling, handling);
    },
    finished(entry) {
      handling = Math.max(0, handling - 1);
      stats.log.push(entry);
    },
    reset() {
      stats.calls = 0;
      stats.tokenRequests = 0;
      stats.log.length = 0;
      // Calls still being handled stay counted as such; the peak starts again from them.
      maxHandling = handling;
    },
  };
  return stats;
}
