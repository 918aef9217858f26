import type { SyncMode } from '../workflows';

/**
 * The last run that finished, written by finishSync in the same transaction that makes its change state the
 * saved one: "the last successful run" for every worker and every scrape, whichever worker ran it.
 */
export interface LastSuccess {
  finishedAt: Date;
  /** When the run's workflow started; unknown for a run begun by a worker older than this record. */
  startedAt?: Date;
  mode: SyncMode;
}

/** Its key in sync_state. */
export const LAST_SUCCESS_KEY = 'last-success';

export function encodeLastSuccess(run: LastSuccess): string {
  return JSON.stringify({
    finishedAt: run.finishedAt.toISOString(),
    ...(run.startedAt !== undefined ? { startedAt: run.startedAt.toISOString() } : {}),
    mode: run.mode,
  });
}

/** undefined for a missing or unreadable record (no run has finished, or another version wrote it). */
export function decodeLastSuccess(text: string | undefined): LastSuccess | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { finishedAt?: unknown; startedAt?: unknown; mode?: unknown };
    const finishedAt = typeof value.finishedAt === 'string' ? new Date(value.finishedAt) : undefined;
    if (finishedAt === undefined || Number.isNaN(finishedAt.getTime())) return undefined;
    if (value.mode !== 'full' && value.mode !== 'incremental') return undefined;
    const startedAt = typeof value.startedAt === 'string' ? new Date(value.startedAt) : undefined;
    return {
      finishedAt,
      mode: value.mode,
      ...(startedAt !== undefined && !Number.isNaN(startedAt.getTime()) ? { startedAt } : {}),
    };
  } catch {
    return undefined;
  }
}
