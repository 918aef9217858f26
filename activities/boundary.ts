import { currentContext } from './context';
import { toActivityFailure } from './failures';

/** How often a running activity tells Temporal its worker is alive, whatever the activity is doing. */
export const LIVENESS_INTERVAL_MS = 5_000;

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

/**
 * What every activity runs inside. A heartbeat on a timer while it runs: progress heartbeats alone can be
 * minutes apart (a slow request, a Retry-After wait), which would force a long heartbeat timeout; with this the
 * workflow uses a short one, so an activity whose worker was killed is retried within seconds. And each error
 * mapped to what Temporal's retry policy needs (see toActivityFailure).
 */
export function activityBoundary<T extends Activities>(activities: T, intervalMs = LIVENESS_INTERVAL_MS): T {
  const wrapped: Activities = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const context = currentContext();
      const timer = context === undefined ? undefined : setInterval(() => context.heartbeat(), intervalMs);
      try {
        return await activity(...args);
      } catch (error) {
        throw toActivityFailure(error);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}
