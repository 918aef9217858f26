import { runScheduleAction, type ScheduleAction } from '../../client';
import { connectClient } from '../../temporal';
import { parseDuration } from '../../config';
import { commandContext, UsageError } from '../context';

export const SCHEDULE_ACTIONS: ScheduleAction[] = [
  'create',
  'update',
  'describe',
  'pause',
  'unpause',
  'trigger',
  'delete',
];

export async function scheduleCommand(
  action: string,
  options: { every?: string; json?: boolean },
): Promise<number> {
  if (!SCHEDULE_ACTIONS.includes(action as ScheduleAction)) {
    throw new UsageError(`unknown schedule action '${action}' (one of ${SCHEDULE_ACTIONS.join(', ')})`);
  }
  if (options.every !== undefined && parseDuration(options.every) === undefined) {
    throw new UsageError(`--every: '${options.every}' is not a duration such as 5m or 1h`);
  }
  const { config } = commandContext('schedule');
  const { client, connection } = await connectClient(config);
  try {
    const result = await runScheduleAction(client, action as ScheduleAction, {
      taskQueue: config.temporal.taskQueue,
      every: options.every ?? config.sync.interval,
    });
    process.stdout.write(
      options.json === true ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return 0;
  } finally {
    await connection.close();
  }
}
