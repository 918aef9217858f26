export { connectClient, dataConverter, temporalConnectionOptions } from '../temporal';
export { ensureSchedule, runScheduleAction, summariseSchedule } from './schedule';
export type { ScheduleAction, ScheduleSettings } from './schedule';
export { jsonSummary, runSync, startSync } from './sync';
export type { StartSyncOptions, SyncOutcome } from './sync';
