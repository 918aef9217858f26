import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  MANUAL_WORKFLOW_ID_PREFIX,
  opportunityBackfill,
  opportunitySync,
  progressQuery,
  ZERO_COUNTS,
  type SyncSummary,
} from '../workflows';

export interface StartSyncOptions {
  taskQueue: string;
  full?: boolean;
  /** A full sync split into this many key-range partitions (child workflows spread over every worker). */
  partitions?: number;
  workflowId?: string;
  /** Told once, with the other run's sync id, if this run has to wait for another run's lock. */
  onWaiting?: (holder: string) => void;
}

export interface SyncOutcome {
  summary: SyncSummary;
  /** The failure's message when the run failed (never contains secrets: activities strip them). */
  error?: string;
}

export async function startSync(client: Client, options: StartSyncOptions) {
  const workflowId =
    options.workflowId ?? `${MANUAL_WORKFLOW_ID_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}`;
  if (options.partitions !== undefined && options.partitions > 1) {
    return client.workflow.start(opportunityBackfill, {
      taskQueue: options.taskQueue,
      workflowId,
      args: [{ partitions: options.partitions }],
    });
  }
  return client.workflow.start(opportunitySync, {
    taskQueue: options.taskQueue,
    workflowId,
    args: [options.full === true ? { full: true } : {}],
  });
}

function rootCause(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && 'cause' in current && current.cause instanceof Error)
    current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** Starts one run and waits for it; a failed run yields a FAILED summary with its reason. */
export async function runSync(client: Client, options: StartSyncOptions): Promise<SyncOutcome> {
  const handle = await startSync(client, options);
  const watch = options.onWaiting === undefined ? undefined : watchForWaiting(handle, options.onWaiting);
  try {
    const summary: SyncSummary = await handle.result();
    return { summary };
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const description = await handle.describe();
    return {
      summary: {
        ...ZERO_COUNTS,
        workflowId: handle.workflowId,
        runId: description.runId,
        status: 'FAILED',
        mode: options.full === true || (options.partitions ?? 1) > 1 ? 'full' : 'incremental',
        startedAt: description.startTime.toISOString(),
        finishedAt: description.closeTime?.toISOString(),
      },
      error: rootCause(error),
    };
  } finally {
    watch?.stop();
  }
}

/**
 * Asks the run's progress every 2 s until it has begun, and tells `onWaiting` once if it waits for another
 * run's lock first.
 */
function watchForWaiting(handle: WorkflowHandle, onWaiting: (holder: string) => void): { stop(): void } {
  const timer = setInterval(() => {
    handle.query(progressQuery).then(
      (progress) => {
        if (progress.phase === 'starting') return;
        clearInterval(timer);
        if (progress.phase === 'waiting' && progress.waitingFor !== undefined) onWaiting(progress.waitingFor);
      },
      () => undefined,
    );
  }, 2_000);
  return { stop: () => clearInterval(timer) };
}

/** The `--json` summary of SPEC section 5, in its documented key order. */
export function jsonSummary(summary: SyncSummary): Record<string, unknown> {
  return {
    workflowId: summary.workflowId,
    runId: summary.runId,
    status: summary.status,
    pages: summary.pages,
    dynamicsRequests: summary.dynamicsRequests,
    opportunitiesUpserted: summary.opportunitiesUpserted,
    opportunitiesDeleted: summary.opportunitiesDeleted,
    rolesUpserted: summary.rolesUpserted,
    rolesDeleted: summary.rolesDeleted,
    leadsUpserted: summary.leadsUpserted,
    companiesUpserted: summary.companiesUpserted,
    syncErrors: summary.syncErrors,
  };
}
