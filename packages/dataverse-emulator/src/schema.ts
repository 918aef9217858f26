/** Table metadata the emulator serves: entity sets, keys, column types, labels and navigation properties. */

export type AttributeType =
  | 'guid'
  | 'string'
  | 'memo'
  | 'money'
  | 'decimal'
  | 'int'
  | 'bigint'
  | 'bool'
  | 'date'
  | 'datetime'
  | 'optionset'
  | 'lookup';

export interface AttributeDef {
  type: AttributeType;
  /** Option-set labels by value (optionset, state and status columns). */
  labels?: Record<number, string>;
  /** Lookups: logical names it may point to. */
  targets?: string[];
  /** Lookups: whether an index by target id is kept (In / eq on it is O(ids)). */
  indexed?: boolean;
}

export interface EntityDef {
  logicalName: string;
  /** As Dataverse names the table in metadata and privileges (prvRead<SchemaName>). */
  schemaName: string;
  setName: string;
  key: string;
  /** Column shown as a lookup's FormattedValue when a row is the target of a lookup. */
  nameAttribute: string;
  attributes: Record<string, AttributeDef>;
  /** Navigation property name → lookup attribute and target entity. */
  navigation: Record<string, { attribute: string; target: string }>;
  objectTypeCode: number;
}

const opportunityState = { 0: 'Open', 1: 'Won', 2: 'Lost' };
const opportunityStatus = { 1: 'In Progress', 2: 'On Hold', 3: 'Won', 4: 'Canceled', 5: 'Out-Sold' };
const activeState = { 0: 'Active', 1: 'Inactive' };
const activeStatus = { 1: 'Active', 2: 'Inactive' };
const objectTypes = { 1: 'Account', 2: 'Contact', 3: 'Opportunity', 8: 'User' };

export const INDUSTRY_LABELS: Record<number, string> = {
  1: 'Accounting',
  3: 'Broadcasting Printing and Publishing',
  6: 'Business Services',
  7: 'Consulting',
  9: 'Design, Direction and Creative Management',
  12: 'Financial',
  13: 'Food and Tobacco Processing',
  16: 'Insurance',
  17: 'Legal Services',
  19: 'Manufacturing',
  25: 'Retail',
  29: 'Transportation',
  33: 'Wholesale',
};

const common: Record<string, AttributeDef> = {
  createdon: { type: 'datetime' },
  modifiedon: { type: 'datetime' },
  versionnumber: { type: 'bigint' },
};

function lookup(targets: string[], indexed = false): AttributeDef {
  return { type: 'lookup', targets, indexed };
}

/** Navigation properties of a lookup: `<attr>` for one target, `<attr>_<target>` for polymorphic ones. */
function navigationFor(attributes: Record<string, AttributeDef>): EntityDef['navigation'] {
  const navigation: EntityDef['navigation'] = {};
  for (const [attribute, def] of Object.entries(attributes)) {
    if (def.type !== 'lookup' || !def.targets) continue;
    const [only] = def.targets;
    if (def.targets.length === 1 && only !== undefined) navigation[attribute] = { attribute, target: only };
    else for (const target of def.targets) navigation[`${attribute}_${target}`] = { attribute, target };
  }
  return navigation;
}

function entity(
  logicalName: string,
  schemaName: string,
  setName: string,
  nameAttribute: string,
  objectTypeCode: number,
  attributes: Record<string, AttributeDef>,
): EntityDef {
  const all = { [`${logicalName}id`]: { type: 'guid' } as AttributeDef, ...attributes, ...common };
  return {
    logicalName,
    schemaName,
    setName,
    key: `${logicalName}id`,
    nameAttribute,
    attributes: all,
    navigation: navigationFor(all),
    objectTypeCode,
  };
}

/** A fresh copy per emulator: extra columns found on created rows are registered on it. */
export function buildSchema(): Record<string, EntityDef> {
  const defs = [
    entity('opportunity', 'Opportunity', 'opportunities', 'name', 3, {
      name: { type: 'string' },
      estimatedvalue: { type: 'money' },
      actualvalue: { type: 'money' },
      // Computed by Dataverse on every save: X_base = X / exchangerate, the rate of the record's currency then.
      estimatedvalue_base: { type: 'money' },
      actualvalue_base: { type: 'money' },
      exchangerate: { type: 'decimal' },
      estimatedclosedate: { type: 'date' },
      actualclosedate: { type: 'date' },
      description: { type: 'memo' },
      closeprobability: { type: 'int' },
      stepname: { type: 'string' },
      salesstage: { type: 'optionset', labels: { 0: 'Qualify', 1: 'Develop', 2: 'Propose', 3: 'Close' } },
      statecode: { type: 'optionset', labels: opportunityState },
      statuscode: { type: 'optionset', labels: opportunityStatus },
      customerid: lookup(['account', 'contact'], true),
      parentaccountid: lookup(['account']),
      parentcontactid: lookup(['contact']),
      ownerid: lookup(['systemuser']),
      transactioncurrencyid: lookup(['transactioncurrency']),
      new_synctomkto: { type: 'bool' },
      new_region: { type: 'string' },
    }),
    entity('contact', 'Contact', 'contacts', 'fullname', 2, {
      firstname: { type: 'string' },
      lastname: { type: 'string' },
      fullname: { type: 'string' },
      emailaddress1: { type: 'string' },
      parentcustomerid: lookup(['account', 'contact'], true),
      statecode: { type: 'optionset', labels: activeState },
      statuscode: { type: 'optionset', labels: activeStatus },
    }),
    entity('account', 'Account', 'accounts', 'name', 1, {
      name: { type: 'string' },
      websiteurl: { type: 'string' },
      industrycode: { type: 'optionset', labels: INDUSTRY_LABELS },
      parentaccountid: lookup(['account'], true),
      statecode: { type: 'optionset', labels: activeState },
      statuscode: { type: 'optionset', labels: activeStatus },
    }),
    entity('connection', 'Connection', 'connections', 'name', 3234, {
      name: { type: 'string' },
      record1id: lookup(['account', 'contact', 'opportunity', 'systemuser'], true),
      record2id: lookup(['account', 'contact', 'opportunity', 'systemuser'], true),
      record1objecttypecode: { type: 'optionset', labels: objectTypes },
      record2objecttypecode: { type: 'optionset', labels: objectTypes },
      record1roleid: lookup(['connectionrole']),
      record2roleid: lookup(['connectionrole']),
      statecode: { type: 'optionset', labels: activeState },
      statuscode: { type: 'optionset', labels: activeStatus },
      ismaster: { type: 'bool' },
      relatedconnectionid: lookup(['connection']),
    }),
    entity('connectionrole', 'ConnectionRole', 'connectionroles', 'name', 3231, {
      name: { type: 'string' },
      category: {
        type: 'optionset',
        labels: {
          1: 'Business',
          2: 'Family',
          3: 'Social',
          4: 'Sales',
          5: 'Other',
          1000: 'Stakeholder',
          1001: 'Sales Team',
          1002: 'Service',
        },
      },
      statecode: { type: 'optionset', labels: activeState },
    }),
    entity('systemuser', 'SystemUser', 'systemusers', 'fullname', 8, {
      fullname: { type: 'string' },
      internalemailaddress: { type: 'string' },
    }),
    entity('transactioncurrency', 'TransactionCurrency', 'transactioncurrencies', 'currencyname', 9105, {
      currencyname: { type: 'string' },
      isocurrencycode: { type: 'string' },
      currencysymbol: { type: 'string' },
      // Units of this currency per unit of the organisation's base currency (the base currency's is 1).
      exchangerate: { type: 'decimal' },
    }),
    entity('organization', 'Organization', 'organizations', 'name', 1019, {
      name: { type: 'string' },
      basecurrencyid: lookup(['transactioncurrency']),
    }),
  ];
  return Object.fromEntries(defs.map((def) => [def.logicalName, def]));
}

export const OBJECT_TYPE_CODES: Record<string, number> = {
  account: 1,
  contact: 2,
  opportunity: 3,
  systemuser: 8,
};
