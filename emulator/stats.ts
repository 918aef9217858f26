/** Request counters and the request log; early retries are computed from the log, never counted ad hoc. */
import type { EmulatorStats, RequestLogEntry } from './types';

/** Requests that repeated a 429'd request (same key, same client) before its Retry-After elapsed. */
export function countEarlyRetries(log: readonly RequestLogEntry[]): number {
  const deadlines = new Map<string, number>();
  let early = 0;
  for (const entry of log) {
    const id = `${entry.client ?? ''}\n${entry.key}`;
    const deadline = deadlines.get(id);
    if (deadline !== undefined && entry.at < deadline) early++;
    if (entry.status === 429 && entry.retryAfterMs !== undefined) {
      deadlines.set(id, Math.max(deadline ?? 0, entry.at + entry.retryAfterMs));
    }
  }
  return early;
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
