import { asyncLocalStorage, Context } from '@temporalio/activity';
import type { Logger } from '../logging';

export function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // not inside an activity (e.g. the benchmark's bare runs)
  }
}

/** Heartbeats when called inside an activity, so long waits (Retry-After, big pages) do not time it out. */
export function heartbeatIfInActivity(details?: unknown): void {
  currentContext()?.heartbeat(details);
}

/** The running activity's cancellation (its worker shutting down past the grace time, or the run cancelled). */
export function activityCancellation(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}

/** The logger with the run's and the activity's ids on every line, so one grep follows a run. */
export function activityLogger(logger: Logger): Logger {
  const info = currentContext()?.info;
  if (info === undefined) return logger;
  return logger.child({
    workflowId: info.workflowExecution?.workflowId,
    runId: info.workflowExecution?.runId,
    activityId: info.activityId,
    activityType: info.activityType,
    attempt: info.attempt,
  });
}

/**
 * Runs `work` outside the current activity's context: work that outlives the activity (reading the next page
 * ahead) must not heartbeat for it or log as it.
 */
export function outsideActivity<T>(work: () => T): T {
  return asyncLocalStorage.exit(work);
}
