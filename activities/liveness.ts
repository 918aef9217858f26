import { currentContext } from './context';

/** How often a running activity tells Temporal its worker is alive, whatever the activity is doing. */
export const LIVENESS_INTERVAL_MS = 5_000;

/**
 * Wraps every activity so that it heartbeats on a timer while it runs. Progress heartbeats alone can be
 * minutes apart (a slow request, a Retry-After wait), which forces a long heartbeat timeout; with this the
 * workflow can use a short one, so an activity whose worker was killed is retried within seconds.
 */
export function withLiveness<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  intervalMs = LIVENESS_INTERVAL_MS,
): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const context = currentContext();
      const timer = context === undefined ? undefined : setInterval(() => context.heartbeat(), intervalMs);
      try {
        return await activity(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}
