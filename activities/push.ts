/**
 * The push's activity (SPEC section 7): one step of it per call, after the mirror is written. Only the step,
 * the sync id and counts travel through history; records go from the store to Marketo inside the activity.
 */
import type { MarketoDestination, PushStepResult } from '../marketo';
import type { OppsyncMetrics } from '../metrics';
import type { Logger } from '../logging';
import type { PushInput, PushOutcome } from '../workflows';
import type { MarketoStore } from '../store';
import { activityCancellation, activityLogger, currentContext, heartbeatIfInActivity } from './context';

export interface MarketoActivityDependencies {
  store: MarketoStore;
  /** undefined: no destination configured, every step answers `enabled: false`. */
  destination?: MarketoDestination;
  logger: Logger;
  /** Where pushed records and calls are counted (OPPSYNC_METRICS_ADDRESS); none when off. */
  metrics?: Pick<OppsyncMetrics, 'recordPush'>;
}

/** How often a long push renews its run lock (the lease is 35 minutes). */
const RENEW_LOCK_MS = 5 * 60_000;

export function createMarketoActivities({
  store,
  destination,
  logger,
  metrics,
}: MarketoActivityDependencies) {
  return {
    async pushToMarketo(input: PushInput): Promise<PushOutcome> {
      const idle = { step: input.step, sent: 0, accepted: 0, skipped: 0, calls: 0, paused: false };
      if (destination === undefined) return { enabled: false, ...idle };
      const log = activityLogger(logger);
      const holder = await store.state.claimRunLock(input.syncId);
      if (holder !== input.syncId) {
        // The mirror changed under another run since this one finished: that run's push sends it all.
        log.info({ syncId: input.syncId, holder }, 'another run pushes to Marketo');
        return { enabled: true, ...idle, leftTo: holder };
      }
      let renewedAt = Date.now();
      const progress = (done: PushStepResult): void => {
        heartbeatIfInActivity({ sent: done.sent, calls: done.calls });
        if (Date.now() - renewedAt > RENEW_LOCK_MS) {
          renewedAt = Date.now();
          void store.state.claimRunLock(input.syncId).catch(() => undefined);
        }
      };
      const info = currentContext()?.info;
      const result = await destination.pushStep(input.step, input.full, {
        signal: activityCancellation(),
        progress,
        ...(info !== undefined
          ? { holder: `${info.workflowExecution?.workflowId ?? ''}/${info.activityId}` }
          : {}),
      });
      metrics?.recordPush(result);
      if (result.paused) await destination.quotaReached(true);
      else if (result.calls > 0) await destination.quotaReached(false);
      if (result.paused || input.step === 'opportunityDeletes')
        await store.state.releaseRunLock(input.syncId);
      // What `oppsync status` shows of the last push, per step.
      await store.state.set({
        [`marketo-push:${input.step}`]: JSON.stringify({ at: new Date().toISOString(), ...result }),
      });
      log.info({ syncId: input.syncId, ...result }, `pushed ${input.step} to Marketo`);
      return { enabled: true, ...result };
    },
  };
}
