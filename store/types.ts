import type {
  CompanyRow,
  LeadRow,
  OpportunityRow,
  ResolvedPage,
  RoleRow,
  StakeholderConnection,
  SyncErrorRow,
} from '../rules';

export interface WritePageInput extends ResolvedPage {
  /** Opportunities deleted in Dynamics: kept with is_deleted = true, roles removed. */
  deletedOpportunityIds: string[];
  /** Connections that produced the page's stakeholder roles. */
  stakeholderConnections: StakeholderConnection[];
  /** Id of the running full sync: marks every opportunity the page saw (written, skipped, errored). */
  seenSyncId?: string;
  /** The run's record of what this page writes, kept with the page (see run-written.ts). */
  runWritten?: RunWrittenInput;
}

/** The contacts (with the parent account each was read with, null: none) and accounts a page of a run writes. */
export interface RunWrittenInput {
  syncId: string;
  contacts: [string, string | null][];
  accounts: string[];
}

export interface WriteCounts {
  opportunitiesUpserted: number;
  opportunitiesDeleted: number;
  rolesUpserted: number;
  rolesDeleted: number;
  leadsUpserted: number;
  companiesUpserted: number;
  syncErrors: number;
}

/** Whole tables in comparable form (booleans as boolean, numbers as number), sorted by key. */
export interface StoreSnapshot {
  opportunities: (OpportunityRow & { is_deleted: boolean })[];
  roles: RoleRow[];
  leads: LeadRow[];
  companies: CompanyRow[];
  syncErrors: SyncErrorRow[];
}
