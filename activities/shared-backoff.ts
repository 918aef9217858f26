import type { DynamicsClient } from '../dynamics';
import type { Logger } from '../logging';
import type { MarketoStore } from '../store';

const BACKOFF_KEY = 'dataverse-backoff-until';

/**
 * One Dataverse back-off for every worker on the task queue. Service-protection limits count per user, so a
 * 429 seen by one worker must pause the others too: each 429 hold is published in the store, and every request
 * of every worker first waits out the hold published there (one small read of the store a request).
 */
export function shareBackoff(dynamics: DynamicsClient, store: MarketoStore, logger: Logger): void {
  dynamics.shareBackoff({
    async read() {
      try {
        const until = Date.parse((await store.state.get(BACKOFF_KEY)) ?? '');
        return Number.isNaN(until) ? 0 : until;
      } catch (error) {
        // The store's own failures surface where it is written; a request goes on with this worker's hold.
        logger.warn({ error: String(error) }, 'could not read the shared Dataverse back-off');
        return 0;
      }
    },
    publish(openAt) {
      // Two workers throttled at once publish two holds: the later one stays.
      store.state.setLater(BACKOFF_KEY, new Date(openAt).toISOString()).catch((error: unknown) => {
        logger.warn({ error: String(error) }, 'could not publish the Dataverse back-off');
      });
    },
  });
}
