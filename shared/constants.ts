/** Names that the worker, the client and the schedule must agree on. */
export const DEFAULT_TASK_QUEUE = 'opportunity-sync';
export const SCHEDULE_ID = 'opportunity-sync';
export const WORKFLOW_TYPE = 'opportunitySync';
/** The partitioned full sync (child workflows of type WORKFLOW_TYPE, one per key range). */
export const BACKFILL_WORKFLOW_TYPE = 'opportunityBackfill';
/** Manual runs get their own id prefix so they never collide with scheduled ones. */
export const MANUAL_WORKFLOW_ID_PREFIX = 'opportunity-sync-manual-';

/** Custom search attributes (registered on the dev server at start-up; see README for other clusters). */
export const SEARCH_ATTRIBUTES = {
  mode: 'OppsyncMode',
  opportunitiesWritten: 'OppsyncOpportunitiesWritten',
  syncErrors: 'OppsyncSyncErrors',
} as const;
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Int'> = {
  [SEARCH_ATTRIBUTES.mode]: 'Keyword',
  [SEARCH_ATTRIBUTES.opportunitiesWritten]: 'Int',
  [SEARCH_ATTRIBUTES.syncErrors]: 'Int',
};

/** Where the Temporal UI runs by default (`oppsync dev`, `temporal server start-dev`): the codec server's CORS. */
export const DEFAULT_UI_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'] as const;
