/** The seed's sync rules and the opportunity mapping: pure functions over raw Dataverse rows. */
export type {
  CompanyRow,
  ConnectionRole,
  Currencies,
  LeadRow,
  Mapped,
  OpportunityRow,
  RawRecord,
  ResolvedPage,
  ResolvePageInput,
  RoleRow,
  RuleOptions,
  StakeholderConnection,
  SyncErrorEntity,
  SyncErrorRow,
  WrittenThisRun,
} from './types';
export { TEXT_LIMITS } from './text';
export { SALES_STAGE_LABELS, STAGE_LABELS, STATUS_LABELS } from './labels';
export { mapAccount, mapContact } from './mapping';
export { hasUnknownCurrency, parseCurrencies } from './currencies';
export {
  connectionOpportunityId,
  opportunityIdsOfConnection,
  parseConnectionRoles,
  STAKEHOLDER_CATEGORY,
  stakeholderRoles,
} from './stakeholders';
export { CUSTOMER_ROLE, customerOf } from './customer';
export { deletedOpportunityIds, vanishedIds } from './deletions';
export { parentAccountIds, referencedIds, resolvePage, writtenByPage } from './sync-rules';
export {
  companyRecord,
  fitToDescribe,
  leadLookupValue,
  leadOfGroup,
  leadRecord,
  OPPORTUNITY_FIELDS,
  opportunityRecord,
  recordHash,
  roleRecord,
  type Describe,
  type FieldSpec,
  type MarketoRecord,
  type OpportunityMirrorRow,
} from './marketo';
