/**
 * The workflows' contract with the worker, the client and the schedule: names, search attributes and what
 * travels through Temporal history (cursors, ids and counts only).
 */
export const DEFAULT_TASK_QUEUE = 'opportunity-sync';
export const SCHEDULE_ID = 'opportunity-sync';
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

export type SyncMode = 'full' | 'incremental';

export interface SyncCounts {
  pages: number;
  dynamicsRequests: number;
  opportunitiesUpserted: number;
  opportunitiesDeleted: number;
  rolesUpserted: number;
  rolesDeleted: number;
  leadsUpserted: number;
  companiesUpserted: number;
  syncErrors: number;
  /** Opportunities that the sync filter (SYNC_FILTER_ATTRIBUTE) left alone. */
  skipped: number;
}

export const ZERO_COUNTS: SyncCounts = Object.freeze({
  pages: 0,
  dynamicsRequests: 0,
  opportunitiesUpserted: 0,
  opportunitiesDeleted: 0,
  rolesUpserted: 0,
  rolesDeleted: 0,
  leadsUpserted: 0,
  companiesUpserted: 0,
  syncErrors: 0,
  skipped: 0,
});

export function addCounts(a: SyncCounts, b: Partial<SyncCounts>): SyncCounts {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof SyncCounts)[]) sum[key] += b[key] ?? 0;
  return sum;
}

/** Optional key range of opportunityid for partitioned backfills (inclusive lower, exclusive upper). */
export interface KeyRange {
  from?: string;
  to?: string;
}

export interface SyncWorkflowInput {
  /** Ignore saved change state and read everything. */
  full?: boolean;
  /** Set by continue-as-new: where the previous run of this sync stopped. */
  resume?: SyncResumeState;
  /** Set by a partitioned backfill: read only this key range as part of the parent's full sync. */
  partition?: { syncId: string; index: number; range: KeyRange };
}

export interface BackfillWorkflowInput {
  /** Number of key-range partitions, each a child workflow whose activities any worker may run. */
  partitions: number;
}

export interface SyncResumeState {
  syncId: string;
  mode: SyncMode;
  phase: 'opportunities' | 'pending' | 'finish';
  /** The next opportunity page; undefined once the last page is written. */
  cursor?: string;
  partition?: SyncWorkflowInput['partition'];
  counts: SyncCounts;
  startedAt: string;
}

export interface BeginSyncInput {
  syncId: string;
  full: boolean;
  /** A backfill's parent: the opportunities' change baseline too (its partitions' filtered reads cannot track). */
  baselineOpportunities?: boolean;
}

export interface BeginSyncResult {
  mode: SyncMode;
  /** First opportunity page to read: a first-page URL or a saved delta link. */
  cursor: string;
  counts: Partial<SyncCounts>;
  /** Set when another run holds the run lock (its sync id): nothing was begun, the run waits and asks again. */
  waitingFor?: string;
}

export interface PageResult {
  /** The next page's URL; absent when this was the last page. */
  nextCursor?: string;
  /** The saved change token expired: the workflow falls back to a full sync. */
  changeTokenExpired?: boolean;
  counts: Partial<SyncCounts>;
}

export interface PendingBatchResult {
  remaining: number;
  counts: Partial<SyncCounts>;
}

export interface SyncSummary extends SyncCounts {
  workflowId: string;
  runId: string;
  /** COMPLETED or FAILED (a Temporal execution status name). */
  status: string;
  mode: SyncMode;
  startedAt: string;
  finishedAt?: string;
  /** Present when the Marketo REST destination is on (SPEC section 7). */
  marketo?: MarketoPushSummary;
}

export interface SyncProgress {
  syncId: string;
  mode: SyncMode;
  phase: SyncResumeState['phase'] | 'starting' | 'waiting' | 'partitions' | 'marketo' | 'done';
  startedAt: string;
  /** While phase is 'waiting': the sync id of the run that holds the run lock. */
  waitingFor?: string;
  counts: SyncCounts;
}

/** The push's steps, in Marketo's order (SPEC section 7, rule 1). */
export const PUSH_STEPS = [
  'companies',
  'leads',
  'opportunities',
  'roles',
  'roleDeletes',
  'opportunityDeletes',
] as const;
export type PushStep = (typeof PUSH_STEPS)[number];

export interface PushInput {
  syncId: string;
  step: PushStep;
  full: boolean;
}

/** What one push step did; `enabled: false` when no Marketo destination is configured. */
export interface PushOutcome {
  enabled: boolean;
  step: PushStep;
  /** Records sent (a record sent again after a retry counts twice), accepted and skipped by Marketo. */
  sent: number;
  accepted: number;
  skipped: number;
  calls: number;
  /** Marketo's daily quota stopped the push: the rest stays queued for the next run. */
  paused: boolean;
  /** Another run held the run lock: it pushes instead (the push always sends what differs). */
  leftTo?: string;
}

/** The push's totals in a run's summary. */
export interface MarketoPushSummary {
  sent: number;
  accepted: number;
  skipped: number;
  calls: number;
  paused: boolean;
}

/**
 * Splits the opportunityid key space into `count` consecutive ranges on the first hex digits. Whatever order a
 * server gives GUIDs, consecutive `lt`/`ge` ranges cover every id at least once, so no record can be missed; an id
 * seen twice is written twice, which upserts make harmless. Pure and deterministic: workflows call it.
 */
export function keyRanges(count: number): KeyRange[] {
  if (!Number.isInteger(count) || count < 1 || count > 64)
    throw new Error(`partitions must be 1 to 64, got ${count}`);
  const bounds: string[] = [];
  for (let i = 1; i < count; i += 1) {
    const prefix = Math.floor((i * 0x10000) / count)
      .toString(16)
      .padStart(4, '0');
    bounds.push(`${prefix}0000-0000-0000-0000-000000000000`);
  }
  return Array.from({ length: count }, (_, i) => ({ from: bounds[i - 1], to: bounds[i] }));
}
