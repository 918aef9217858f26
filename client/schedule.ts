import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import { parseDuration } from '../config';
import { opportunitySync, SCHEDULE_ID } from '../workflows';

export type ScheduleAction = 'create' | 'update' | 'describe' | 'pause' | 'unpause' | 'trigger' | 'delete';

export interface ScheduleSettings {
  taskQueue: string;
  every: string;
}

function scheduleOptions(settings: ScheduleSettings) {
  const every = parseDuration(settings.every);
  if (every === undefined) throw new Error(`'${settings.every}' is not an interval such as 5m`);
  return {
    spec: { intervals: [{ every }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: opportunitySync,
      workflowId: `${SCHEDULE_ID}-scheduled`,
      taskQueue: settings.taskQueue,
      args: [{}] as Parameters<typeof opportunitySync>,
    },
    // A sync must never run beside another: a run still going when the next is due makes that one skip.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 60_000, pauseOnFailure: false },
  };
}

/** What `oppsync schedule describe` shows: the facts an operator checks, not the raw protobuf. */
export function summariseSchedule(description: ScheduleDescription): Record<string, unknown> {
  const spec = description.spec;
  return {
    scheduleId: description.scheduleId,
    every: spec.intervals?.map((interval) => interval.every) ?? [],
    paused: description.state.paused,
    note: description.state.note ?? null,
    overlap: description.policies.overlap,
    workflowType: description.action.type === 'startWorkflow' ? description.action.workflowType : null,
    taskQueue: description.action.type === 'startWorkflow' ? description.action.taskQueue : null,
    actionsTaken: description.info.numActionsTaken,
    skippedForOverlap: description.info.numActionsSkippedOverlap,
    running: description.info.runningActions.map((action) => action.workflow.workflowId),
    recent: description.info.recentActions.slice(-5).map((action) => ({
      scheduledAt: action.scheduledAt.toISOString(),
      workflowId: action.action.workflow.workflowId,
      runId: action.action.workflow.firstExecutionRunId,
    })),
    next: description.info.nextActionTimes.slice(0, 3).map((time) => time.toISOString()),
  };
}

/** Creates the schedule, or updates its interval and task queue when it already exists. */
export async function ensureSchedule(
  client: Client,
  settings: ScheduleSettings,
): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create({ scheduleId: SCHEDULE_ID, ...scheduleOptions(settings) });
    return 'created';
  } catch (error) {
    if ((error as Error).name !== 'ScheduleAlreadyRunning') throw error;
    await client.schedule
      .getHandle(SCHEDULE_ID)
      .update((previous) => ({ ...previous, ...scheduleOptions(settings) }));
    return 'updated';
  }
}

export async function runScheduleAction(
  client: Client,
  action: ScheduleAction,
  settings: ScheduleSettings,
): Promise<Record<string, unknown>> {
  const handle = client.schedule.getHandle(SCHEDULE_ID);
  try {
    switch (action) {
      case 'create':
        await client.schedule.create({ scheduleId: SCHEDULE_ID, ...scheduleOptions(settings) });
        break;
      case 'update':
        await handle.update((previous) => ({ ...previous, ...scheduleOptions(settings) }));
        break;
      case 'pause':
        await handle.pause('paused with oppsync schedule pause');
        break;
      case 'unpause':
        await handle.unpause('unpaused with oppsync schedule unpause');
        break;
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.SKIP);
        break;
      case 'delete':
        await handle.delete();
        return { scheduleId: SCHEDULE_ID, deleted: true };
      case 'describe':
        break;
    }
    return summariseSchedule(await handle.describe());
  } catch (error) {
    if (error instanceof ScheduleNotFoundError || (error as Error).name === 'ScheduleNotFoundError') {
      throw new Error(`schedule '${SCHEDULE_ID}' does not exist: create it with 'oppsync schedule create'`);
    }
    throw error;
  }
}
