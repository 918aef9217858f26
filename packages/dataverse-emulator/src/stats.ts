/** Request counters and the request log; early retries are computed from the log, never counted ad hoc. */
import type { EmulatorStats, RequestLogEntry } from './types';

/**
 * Requests that repeated a 429'd request (same key, same client) before its Retry-After elapsed, counted from
 * when the 429 was answered. A request that arrived before that answer is not a repeat of it: its client could
 * not yet know (two reads of the same URL may be in flight at once).
 */
export function countEarlyRetries(log: readonly RequestLogEntry[]): number {
  const idOf = (entry: RequestLogEntry): string => `${entry.client ?? ''}\n${entry.key}`;
  const holds = new Map<string, { index: number; answeredAt: number; until: number }[]>();
  log.forEach((entry, index) => {
    if (entry.status !== 429 || entry.retryAfterMs === undefined) return;
    const answeredAt = entry.answeredAt ?? entry.at;
    const list = holds.get(idOf(entry)) ?? [];
    list.push({ index, answeredAt, until: answeredAt + entry.retryAfterMs });
    holds.set(idOf(entry), list);
  });
  return log.filter((entry, index) =>
    (holds.get(idOf(entry)) ?? []).some(
      // The log is in order of answer, so a repeat of a 429 comes after it. Clocks tick in milliseconds: a
      // 429 and the request before it may share one, so the time alone cannot tell which came first.
      (hold) => hold.index < index && entry.at >= hold.answeredAt && entry.at < hold.until,
    ),
  ).length;
}

export function createStats(): EmulatorStats {
  const stats: EmulatorStats = {
    requests: 0,
    tokenRequests: 0,
    throttled: 0,
    expiredTokenRejections: 0,
    revokedTokenRejections: 0,
    injectedFailures: 0,
    corruptedResponses: 0,
    expiredChangeTokenRejections: 0,
    log: [],
    tokensIssued: [],
    earlyRetries: () => countEarlyRetries(stats.log),
    reset: () => {
      stats.requests = 0;
      stats.tokenRequests = 0;
      stats.throttled = 0;
      stats.expiredTokenRejections = 0;
      stats.revokedTokenRejections = 0;
      stats.injectedFailures = 0;
      stats.corruptedResponses = 0;
      stats.expiredChangeTokenRejections = 0;
      stats.log.length = 0;
      stats.tokensIssued.length = 0;
    },
  };
  return stats;
}
