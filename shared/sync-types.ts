/**
 * What travels through Temporal history: cursors, ids and counts only. Page data never leaves the
 * activities, so histories stay small and free of personal data.
 */
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
