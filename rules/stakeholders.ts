/** Rule 5: which connection rows make stakeholder roles. */
import { lookupLogicalName, toGuid } from '../dynamics';
import { BadFieldError, errorRecordId, readCode, readKey, readLookup, syncError } from './fields';
import { truncate, TEXT_LIMITS } from './text';
import type { ErrorList, RelatedRecords } from './customer';
import type { ConnectionRole, RawRecord, RoleRow, StakeholderConnection, SyncErrorRow } from './types';

export const STAKEHOLDER_CATEGORY = 1000;
const OBJECT_TYPE = { account: 1, contact: 2, opportunity: 3, systemuser: 8 } as const;

export function parseConnectionRoles(rows: RawRecord[]): Map<string, ConnectionRole> {
  const roles = new Map<string, ConnectionRole>();
  for (const row of rows) {
    const id = toGuid(row.connectionroleid);
    const category = typeof row.category === 'number' ? row.category : Number(row.category);
    if (!id || typeof row.name !== 'string' || !Number.isInteger(category)) continue;
    roles.set(id, { id, name: truncate(row.name, TEXT_LIMITS.short), category });
  }
  return roles;
}

const SIDE_KEYS = {
  1: { lookup: '_record1id_value', code: 'record1objecttypecode' },
  2: { lookup: '_record2id_value', code: 'record2objecttypecode' },
} as const;

/** The lookup's table decides when Dataverse named it; otherwise the record<n>objecttypecode column. */
function sideIs(raw: RawRecord, side: 1 | 2, type: keyof typeof OBJECT_TYPE): boolean {
  const table = lookupLogicalName(raw, SIDE_KEYS[side].lookup);
  if (table !== undefined) return table === type;
  const code = raw[SIDE_KEYS[side].code];
  return code === OBJECT_TYPE[type] || code === String(OBJECT_TYPE[type]) || code === type;
}

/** Which opportunities a changed connection row concerns (either side), for incremental sync. */
export function opportunityIdsOfConnection(raw: RawRecord): string[] {
  const ids = new Set<string>();
  for (const side of [1, 2] as const) {
    const id = toGuid(raw[`_record${side}id_value`]);
    if (id && sideIs(raw, side, 'opportunity')) ids.add(id);
  }
  return [...ids];
}

/** The opportunity a connection row counts for: its record1, when record1 is an opportunity. */
export function connectionOpportunityId(raw: RawRecord): string | undefined {
  const id = toGuid(raw._record1id_value);
  const record1Typed = lookupLogicalName(raw, SIDE_KEYS[1].lookup) !== undefined || SIDE_KEYS[1].code in raw;
  return id && (!record1Typed || sideIs(raw, 1, 'opportunity')) ? id : undefined;
}

export interface StakeholderLink {
  connectionId: string;
  opportunityId: string;
  contactId: string;
  role: string;
}

/**
 * A stakeholder role from one connection row, null when the row gives no role (inactive, not a
 * contact, not a Stakeholder-category role), or an error when the row is malformed.
 */
export function stakeholderLink(
  raw: RawRecord,
  roles: Map<string, ConnectionRole>,
): StakeholderLink | null | SyncErrorRow {
  try {
    const connectionId = readKey(raw, 'connectionid');
    const opportunityId = connectionOpportunityId(raw);
    const contact = readLookup(raw, 'record2id');
    const roleId = readLookup(raw, 'record2roleid');
    if (!opportunityId || readCode(raw, 'statecode') !== 0) return null;
    if (!contact || !sideIs(raw, 2, 'contact') || !roleId) return null;
    const role = roles.get(roleId.id);
    if (role?.category !== STAKEHOLDER_CATEGORY) return null;
    return { connectionId, opportunityId, contactId: contact.id, role: role.name };
  } catch (error) {
    if ((error as Error).name !== 'BadFieldError') throw error;
    return syncError('connection', errorRecordId(raw, 'connectionid'), (error as BadFieldError).message, raw);
  }
}

/**
 * Rule 5 over a page: a stakeholder role for each active connection from a synced opportunity of the page
 * (`synced`) to a contact in a Stakeholder-category role, once that contact is a lead. Only rows whose record1
 * is the opportunity count: the reciprocal row (record1 = the contact) describes the same connection again.
 */
export function stakeholderRoles(
  connections: RawRecord[],
  synced: { has(opportunityId: string): boolean },
  roles: Map<string, ConnectionRole>,
  related: RelatedRecords,
  errors: ErrorList,
): { roles: RoleRow[]; connections: StakeholderConnection[] } {
  const made: RoleRow[] = [];
  const traced: StakeholderConnection[] = [];
  for (const raw of connections) {
    const oppId = connectionOpportunityId(raw);
    if (!oppId || !synced.has(oppId)) continue;
    const link = stakeholderLink(raw, roles);
    if (!link) continue;
    if (!('contactId' in link)) {
      errors.add(link);
      continue;
    }
    if (!related.contact(link.contactId, `stakeholder of opportunity ${oppId}`)) continue;
    made.push({
      external_opportunity_id: oppId,
      dynamics_contact_id: link.contactId,
      role: link.role,
      is_primary: false,
    });
    traced.push({ connection_id: link.connectionId, external_opportunity_id: oppId });
  }
  return { roles: made, connections: traced };
}
