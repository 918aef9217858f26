export { createSyncWorker, workflowsPath } from './create-worker';
export type { SyncWorker, SyncWorkerOptions } from './create-worker';
export { heapGrowthFlag, installRuntime, installWorkerRuntime, sdkMetricsAddress } from './runtime';
