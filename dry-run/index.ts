/**
 * `oppsync sync --dry-run`: the steps of a run (beginSync, every page, the queued opportunities, finishSync), with
 * the real activities against the real Dynamics, but writing into an in-memory copy of the store. What the copy
 * holds afterwards, compared with the store, is exactly what the run would create, update and delete.
 */
import { createSyncActivities } from '../activities';
import type { AppConfig } from '../config';
import { DynamicsClient, type DynamicsAuthConfig } from '../dynamics';
import { createMarketoDestination, type MarketoConnection } from '../marketo';
import type { Logger } from '../logging';
import type { PushStep } from '../workflows';
import { MarketoStore } from '../store';
import { scratchCopy } from './scratch';
import { storeChanges, type StoreChanges } from './diff';

export { storeChanges, type StoreChanges, type TableChanges } from './diff';

export interface DryRunReport {
  mode: 'full' | 'incremental';
  dynamicsRequests: number;
  changes: StoreChanges;
  /**
   * With the Marketo destination on: per push step, the records Marketo would be sent. Roles of leads Marketo
   * does not hold yet are not counted: the push sends them once Marketo has given those leads their ids.
   */
  marketo?: Record<PushStep, { create: number; update: number; delete: number }>;
}

export async function dryRun(options: {
  config: AppConfig;
  dynamics: DynamicsAuthConfig;
  /** Where runs push; the dry run only reads its describes (once a day, cached in the copy). */
  marketo?: MarketoConnection;
  logger: Logger;
  full?: boolean;
}): Promise<DryRunReport> {
  const { config, logger } = options;
  const store = await MarketoStore.open(config.storeUrl);
  try {
    const scratch = await scratchCopy(store);
    try {
      const dynamics = new DynamicsClient({ ...options.dynamics, pageSize: config.sync.pageSize });
      const activities = createSyncActivities({ store: scratch, dynamics, sync: config.sync, logger });
      const syncId = `dry-run/${Date.now()}`;
      let begun = await activities.beginSync({ syncId, full: options.full === true });
      let requests = begun.counts.dynamicsRequests ?? 0;
      for (let cursor: string | undefined = begun.cursor; cursor !== undefined;) {
        const page = await activities.syncOpportunityPage({ syncId, mode: begun.mode, cursor });
        requests += page.counts.dynamicsRequests ?? 0;
        if (page.changeTokenExpired === true) {
          begun = await activities.beginSync({ syncId, full: true });
          requests += begun.counts.dynamicsRequests ?? 0;
          cursor = begun.cursor;
        } else cursor = page.nextCursor;
      }
      for (let remaining = 1; remaining > 0;) {
        const batch = await activities.syncPendingBatch({ syncId, mode: begun.mode });
        requests += batch.counts.dynamicsRequests ?? 0;
        remaining = batch.remaining;
      }
      await activities.finishSync({ syncId, mode: begun.mode });
      const changes = storeChanges(await store.snapshot(), await scratch.snapshot());
      const marketo =
        options.marketo === undefined
          ? undefined
          : await createMarketoDestination({
              connection: options.marketo,
              config: config.marketo,
              store: scratch,
            }).pending(begun.mode === 'full');
      return {
        mode: begun.mode,
        dynamicsRequests: requests,
        changes,
        ...(marketo !== undefined ? { marketo } : {}),
      };
    } finally {
      await scratch.close();
    }
  } finally {
    await store.close();
  }
}
