import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { temporalConnectionOptions } from '../temporal';
import type { TemporalConfig } from '../config';
import { SCHEDULE_ID } from '../workflows';
import { ensureSearchAttributes } from '../temporal';
import { fail, notChecked, pass, reason, type Check } from './check';

const REACHABLE = 'Temporal reachable';
const NAMESPACE = 'Temporal namespace';
const ATTRIBUTES = 'search attributes';
const SCHEDULE = 'schedule';
const DEADLINE_MS = 10_000;
// gRPC status code NOT_FOUND: what describeNamespace answers for a namespace that does not exist.
const GRPC_NOT_FOUND = 5;

function interval(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

async function checkNamespace(connection: Connection, temporal: TemporalConfig): Promise<Check> {
  const { namespace, address } = temporal;
  try {
    await connection.withDeadline(Date.now() + DEADLINE_MS, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
    return pass(NAMESPACE, namespace);
  } catch (error) {
    const missing = isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND;
    return fail(
      NAMESPACE,
      missing ? `no namespace ${namespace} on ${address}` : reason(error),
      missing
        ? `create it (temporal operator namespace create --namespace ${namespace}; Temporal Cloud: in the ` +
            'Cloud UI or tcld namespace create), or set TEMPORAL_NAMESPACE to an existing one'
        : 'check TEMPORAL_NAMESPACE and that this identity may describe it',
    );
  }
}

/** Registered only: the doctor never registers them (the worker does at start where the server allows it). */
async function checkSearchAttributes(connection: Connection, namespace: string): Promise<Check> {
  try {
    await connection.withDeadline(Date.now() + DEADLINE_MS, () =>
      ensureSearchAttributes(connection.operatorService, namespace, { register: false }),
    );
    return pass(ATTRIBUTES, 'OppsyncMode, OppsyncOpportunitiesWritten and OppsyncSyncErrors registered');
  } catch (error) {
    if ((error as Error).name === 'SearchAttributesError') {
      const { problem, fix } = error as Error & { problem: string; fix: string };
      return fail(ATTRIBUTES, problem, fix);
    }
    return fail(
      ATTRIBUTES,
      reason(error),
      'check that this identity may list the namespace search attributes',
    );
  }
}

async function checkSchedule(connection: Connection, temporal: TemporalConfig): Promise<Check> {
  const client = new Client({ connection, namespace: temporal.namespace });
  try {
    const schedule = await connection.withDeadline(Date.now() + DEADLINE_MS, () =>
      client.schedule.getHandle(SCHEDULE_ID).describe(),
    );
    const queue = schedule.action.type === 'startWorkflow' ? schedule.action.taskQueue : undefined;
    const every =
      schedule.spec.intervals?.map((spec) => interval(Number(spec.every))).join(', ') ?? 'no interval';
    if (queue !== temporal.taskQueue) {
      return fail(
        SCHEDULE,
        `${SCHEDULE_ID} starts runs on task queue ${queue ?? '(none)'}, but the workers listen on ${temporal.taskQueue} (TEMPORAL_TASK_QUEUE)`,
        'run oppsync schedule update with this configuration',
      );
    }
    if (schedule.state.paused) {
      return fail(SCHEDULE, `${SCHEDULE_ID} (every ${every}) is paused`, 'run oppsync schedule unpause');
    }
    return pass(SCHEDULE, `${SCHEDULE_ID} every ${every} on task queue ${queue}`);
  } catch (error) {
    if ((error as Error).name === 'ScheduleNotFoundError') {
      return fail(
        SCHEDULE,
        `no schedule ${SCHEDULE_ID} in namespace ${temporal.namespace}`,
        'run oppsync schedule create (every SYNC_INTERVAL; --every 5m to choose)',
      );
    }
    return fail(SCHEDULE, reason(error), 'check that this identity may describe schedules');
  }
}

/** The Temporal side: the frontend answers, the namespace exists and is ready for runs, the schedule is there. */
export async function checkTemporal(temporal: TemporalConfig): Promise<Check[]> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...temporalConnectionOptions(temporal),
      connectTimeout: DEADLINE_MS,
    });
  } catch (error) {
    return [
      fail(
        REACHABLE,
        `${temporal.address}: ${reason(error)}`,
        'check TEMPORAL_ADDRESS (host:port of the frontend), TLS (TEMPORAL_TLS_*) or TEMPORAL_API_KEY, and that the server is up',
      ),
      ...[NAMESPACE, ATTRIBUTES, SCHEDULE].map((name) => notChecked(name, 'Temporal is not reachable')),
    ];
  }
  try {
    const checks = [pass(REACHABLE, temporal.address), await checkNamespace(connection, temporal)];
    if (checks[1]?.status !== 'PASS') {
      return [...checks, ...[ATTRIBUTES, SCHEDULE].map((name) => notChecked(name, 'no such namespace'))];
    }
    return [
      ...checks,
      await checkSearchAttributes(connection, temporal.namespace),
      await checkSchedule(connection, temporal),
    ];
  } finally {
    await connection.close();
  }
}
