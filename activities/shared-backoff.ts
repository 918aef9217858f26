import type { DynamicsClient } from '../dynamics';
import type { Logger } from '../logging';
import type { MarketoStore } from '../store';

const BACKOFF_KEY = 'dataverse-backoff-until';

/**
 * One Dataverse back-off for every worker on the task queue. Service-protection limits count per user, so a
 * 429 seen by one worker must pause the others too: each 429 hold is published in the store, and every
 * activity adopts the published hold before it sends its first request.
 */
export function shareBackoff(
  dynamics: DynamicsClient,
  store: MarketoStore,
  logger: Logger,
): { adopt(): Promise<void> } {
  let published = 0;
  dynamics.onThrottle((openAt) => {
    if (openAt <= published) return;
    published = openAt;
    store.state.set({ [BACKOFF_KEY]: new Date(openAt).toISOString() }).catch((error: unknown) => {
      logger.warn({ error: String(error) }, 'could not publish the Dataverse back-off');
    });
  });
  return {
    async adopt() {
      const until = Date.parse((await store.state.get(BACKOFF_KEY)) ?? '');
      if (!Number.isNaN(until) && until > Date.now()) dynamics.holdUntil(until);
    },
  };
}
