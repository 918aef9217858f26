/**
 * Ending a run: a full sync marks what it did not see as deleted; the new change state becomes the saved one,
 * and with it the record of the last successful run; the run lock, the run's record of what it wrote and its state
 * on this worker go.
 */
import { encodeLastSuccess, LAST_SUCCESS_KEY } from '../store';
import type { SyncCounts, SyncMode } from '../workflows';
import { committedKey, nextKey } from './change-state';
import { activityLogger } from './context';
import type { SyncContext } from './sync-context';

export function finishActivities(context: SyncContext) {
  const { store, logger, metrics, now, runs, opportunities, feeds } = context;
  return {
    /**
     * Ends a run. `startedAt` (the workflow's) times the run; workflows started before it was passed leave it
     * out.
     */
    async finishSync(input: {
      syncId: string;
      mode: SyncMode;
      startedAt?: string;
    }): Promise<{ counts: Partial<SyncCounts> }> {
      await context.holdRunLock(input.syncId);
      let counts: Partial<SyncCounts> = {};
      if (input.mode === 'full') {
        const deleted = await store.markUnseenDeleted(input.syncId, now().toISOString());
        counts = { opportunitiesDeleted: deleted.opportunitiesDeleted, rolesDeleted: deleted.rolesDeleted };
      }
      const promote: Record<string, string | null> = {};
      for (const table of [opportunities, ...feeds]) {
        const value = await store.state.get(nextKey(table.entitySet));
        if (value !== undefined) promote[committedKey(table.entitySet)] = value;
        promote[nextKey(table.entitySet)] = null;
      }
      const finishedAt = now();
      const started = input.startedAt === undefined ? NaN : Date.parse(input.startedAt);
      const startedAt = Number.isNaN(started) ? undefined : new Date(started);
      promote[LAST_SUCCESS_KEY] = encodeLastSuccess({
        finishedAt,
        mode: input.mode,
        ...(startedAt !== undefined ? { startedAt } : {}),
      });
      await store.state.set(promote);
      await store.runWritten.clear();
      await store.state.releaseRunLock(input.syncId);
      runs.end(input.syncId);
      if (startedAt !== undefined)
        metrics?.recordRun(input.mode, (finishedAt.getTime() - startedAt.getTime()) / 1000);
      activityLogger(logger).info({ syncId: input.syncId, mode: input.mode }, 'sync finished');
      return context.counted({ counts });
    },

    /** A run that failed gives the run lock up at once, so the next run need not wait out its lease. */
    async releaseRunLock(input: { syncId: string }): Promise<void> {
      runs.end(input.syncId);
      await store.runWritten.end(input.syncId);
      await store.state.releaseRunLock(input.syncId);
    },
  };
}
