/** Raw Dataverse rows for rules and store tests, shaped like Web API answers with annotations. */
import type { ConnectionRole, RawRecord } from '../rules';

const LOOKUP = '@Microsoft.Dynamics.CRM.lookuplogicalname';
const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

/** A deterministic GUID: guid(7) → '00000000-0000-0000-0000-000000000007'. */
export function guid(n: number, prefix = '00000000'): string {
  return `${prefix}-0000-0000-0000-${n.toString(16).padStart(12, '0')}`;
}

export const ROLE = {
  stakeholder: { id: guid(1, 'aaaaaaaa'), name: 'Stakeholder', category: 1000 },
  decisionMaker: { id: guid(2, 'aaaaaaaa'), name: 'Decision Maker', category: 1000 },
  champion: { id: guid(3, 'aaaaaaaa'), name: 'Champion', category: 1000 },
  salesTeam: { id: guid(4, 'aaaaaaaa'), name: 'Sales Professional', category: 1001 },
  business: { id: guid(5, 'aaaaaaaa'), name: 'Partner', category: 1 },
} satisfies Record<string, ConnectionRole>;

export function connectionRoleRows(): RawRecord[] {
  return Object.values(ROLE).map((r) => ({ connectionroleid: r.id, name: r.name, category: r.category }));
}

export function rolesMap(): Map<string, ConnectionRole> {
  return new Map(Object.values(ROLE).map((r) => [r.id, r]));
}

/** The organisation's currencies: US dollars (the base currency), euros and pounds. */
export const CURRENCY = {
  usd: { id: guid(1, 'ca000000'), code: 'USD' },
  eur: { id: guid(2, 'ca000000'), code: 'EUR' },
  gbp: { id: guid(3, 'ca000000'), code: 'GBP' },
} as const;

/** transactioncurrencies rows as the Web API returns them for the sync's $select. */
export function currencyRows(): RawRecord[] {
  return Object.values(CURRENCY).map((c) => ({ transactioncurrencyid: c.id, isocurrencycode: c.code }));
}

export function currenciesMap(): Map<string, string> {
  return new Map(Object.values(CURRENCY).map((c) => [c.id, c.code]));
}

export function account(id: string, extra: RawRecord = {}): RawRecord {
  return {
    accountid: id,
    name: `Account ${id.slice(-4)}`,
    websiteurl: `https://a${id.slice(-4)}.example.com`,
    industrycode: 7,
    [`industrycode${FORMATTED}`]: 'Consulting',
    modifiedon: '2024-01-02T03:04:05Z',
    ...extra,
  };
}

export function contact(id: string, parent?: { id: string; type: string }, extra: RawRecord = {}): RawRecord {
  return {
    contactid: id,
    firstname: 'Ada',
    lastname: `Lovelace ${id.slice(-4)}`,
    emailaddress1: `c${id.slice(-4)}@example.com`,
    _parentcustomerid_value: parent?.id ?? null,
    ...(parent ? { [`_parentcustomerid_value${LOOKUP}`]: parent.type } : {}),
    modifiedon: '2024-01-02T03:04:05Z',
    ...extra,
  };
}

export function opportunity(
  id: string,
  customer?: { id: string; type: string },
  extra: RawRecord = {},
): RawRecord {
  return {
    opportunityid: id,
    name: `Deal ${id.slice(-4)}`,
    estimatedvalue: 50000,
    actualvalue: null,
    _transactioncurrencyid_value: CURRENCY.usd.id,
    estimatedvalue_base: 50000,
    actualvalue_base: null,
    estimatedclosedate: '2024-03-31',
    actualclosedate: null,
    description: 'A deal',
    closeprobability: 40,
    stepname: '2-Develop',
    salesstage: 1,
    statecode: 0,
    statuscode: 1,
    _customerid_value: customer?.id ?? null,
    ...(customer ? { [`_customerid_value${LOOKUP}`]: customer.type } : {}),
    _parentaccountid_value: null,
    _parentcontactid_value: null,
    createdon: '2024-01-01T10:00:00Z',
    modifiedon: '2024-02-01T11:30:00Z',
    ...extra,
  };
}

/** The connection row whose record1 is the opportunity (the one Dataverse's rules count). */
export function connection(
  id: string,
  opportunityId: string,
  record2: { id: string; type: 'contact' | 'account' | 'systemuser' },
  role: ConnectionRole,
  extra: RawRecord = {},
): RawRecord {
  const typeCode = { account: 1, contact: 2, systemuser: 8 }[record2.type];
  return {
    connectionid: id,
    _record1id_value: opportunityId,
    [`_record1id_value${LOOKUP}`]: 'opportunity',
    record1objecttypecode: 3,
    _record2id_value: record2.id,
    [`_record2id_value${LOOKUP}`]: record2.type,
    record2objecttypecode: typeCode,
    _record1roleid_value: null,
    _record2roleid_value: role.id,
    statecode: 0,
    ismaster: true,
    _relatedconnectionid_value: guid(0xfff, id.slice(0, 8)),
    ...extra,
  };
}

/** The reciprocal row Dataverse stores for the same connection: record1/record2 and roles swapped. */
export function reciprocal(row: RawRecord, id: string): RawRecord {
  return {
    ...row,
    connectionid: id,
    _record1id_value: row._record2id_value,
    [`_record1id_value${LOOKUP}`]: row[`_record2id_value${LOOKUP}`],
    record1objecttypecode: row.record2objecttypecode,
    _record2id_value: row._record1id_value,
    [`_record2id_value${LOOKUP}`]: row[`_record1id_value${LOOKUP}`],
    record2objecttypecode: row.record1objecttypecode,
    _record1roleid_value: row._record2roleid_value,
    _record2roleid_value: row._record1roleid_value,
    ismaster: false,
    _relatedconnectionid_value: row.connectionid,
  };
}

export { FORMATTED, LOOKUP };
