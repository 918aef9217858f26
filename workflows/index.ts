export { opportunitySync, progressQuery } from './opportunity-sync';
export { opportunityBackfill } from './opportunity-backfill';
