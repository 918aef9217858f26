export { opportunitySync, progressQuery } from './opportunity-sync';
