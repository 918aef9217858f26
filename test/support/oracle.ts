/**
 * Test oracle: what the store must hold after a complete sync of a whole organisation, computed by
 * the same rules over every record at once (SPEC rule 7).
 */
import { toGuid } from '../../dynamics';
import {
  connectionOpportunityId,
  parseConnectionRoles,
  parseCurrencies,
  resolvePage,
  type CompanyRow,
  type LeadRow,
  type OpportunityRow,
  type RawRecord,
  type RoleRow,
  type RuleOptions,
  type SyncErrorRow,
} from '../../rules';

export interface OrganisationData {
  opportunities: RawRecord[];
  connections: RawRecord[];
  contacts: RawRecord[];
  accounts: RawRecord[];
  connectionRoles: RawRecord[];
  /** transactioncurrencies, for each opportunity's currency code. */
  currencies: RawRecord[];
}

export interface ExpectedStore {
  opportunities: OpportunityRow[];
  roles: RoleRow[];
  leads: LeadRow[];
  companies: CompanyRow[];
  errors: SyncErrorRow[];
  /** Opportunities the sync filter leaves alone (absent from `opportunities`). */
  skippedIds: string[];
}

export function expectedStore(all: OrganisationData, options: RuleOptions): ExpectedStore {
  const opportunityIds = new Set(all.opportunities.map((o) => toGuid(o.opportunityid)));
  const connections = all.connections.filter((c) => {
    const id = connectionOpportunityId(c);
    return id !== undefined && opportunityIds.has(id);
  });
  const page = resolvePage({
    opportunities: all.opportunities,
    connections,
    contacts: all.contacts,
    accounts: all.accounts,
    roles: parseConnectionRoles(all.connectionRoles),
    currencies: parseCurrencies(all.currencies),
    options,
  });
  // resolvePage already sorts every list by its key.
  const { opportunities, roles, leads, companies, errors, skippedIds } = page;
  return { opportunities, roles, leads, companies, errors, skippedIds };
}
