/** The workflows (bundled for the worker's sandbox) and their contract with the worker, the client and the schedule. */
export { opportunitySync, progressQuery } from './opportunity-sync';
export { opportunityBackfill } from './opportunity-backfill';
export * from './contract';
