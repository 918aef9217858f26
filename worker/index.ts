export { createSyncWorker, workflowsPath } from './create-worker';
export type { SyncWorker, SyncWorkerOptions } from './create-worker';
export { installRuntimeLogger } from './runtime-logger';
