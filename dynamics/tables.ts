import { ALL_ANNOTATIONS, type Annotation } from './record';

/** The Dataverse tables the sync reads, with the columns and annotations it needs from each: the one schema. */
export interface TableSpec {
  readonly logicalName: 'opportunity' | 'connection' | 'contact' | 'account';
  readonly entitySet: string;
  readonly key: string;
  readonly select: readonly string[];
  /**
   * The annotations the rules read from this table's rows. Each one asked for adds a property to every
   * row of every page; FormattedValue alone is a third of a connection row and is never read there.
   */
  readonly annotations: readonly Annotation[];
}

export const OPPORTUNITY_COLUMNS = [
  'opportunityid',
  'name',
  'estimatedvalue',
  'actualvalue',
  // The currency of both values (Dataverse returns it with any money column; asked for by name all the same), and
  // both values in the organisation's base currency. exchangerate is not read: the _base values already apply it.
  '_transactioncurrencyid_value',
  'estimatedvalue_base',
  'actualvalue_base',
  'estimatedclosedate',
  'actualclosedate',
  'description',
  'closeprobability',
  'stepname',
  'salesstage',
  'statecode',
  'statuscode',
  '_customerid_value',
  'createdon',
  'modifiedon',
] as const;

export const CONNECTIONS: TableSpec = {
  logicalName: 'connection',
  entitySet: 'connections',
  key: 'connectionid',
  // Only what rule 5 reads. The reciprocal row is never read (record1 is always the opportunity), so
  // ismaster, relatedconnectionid and record1's role are not needed; each lookup left out also saves its
  // lookuplogicalname annotation on every row.
  select: [
    'connectionid',
    '_record1id_value',
    '_record2id_value',
    'record1objecttypecode',
    'record2objecttypecode',
    '_record2roleid_value',
    'statecode',
  ],
  // None: record1objecttypecode and record2objecttypecode name each side's table, so the lookups' logical names
  // (three annotations a row) would only say it again.
  annotations: [],
};

export const CONTACTS: TableSpec = {
  logicalName: 'contact',
  entitySet: 'contacts',
  key: 'contactid',
  // The lead's columns and its parent: modifiedon is never read (a changed contact is found by its delta).
  select: ['contactid', 'firstname', 'lastname', 'emailaddress1', '_parentcustomerid_value'],
  // Whether the parent customer is an account or a contact.
  annotations: ['lookupLogicalName'],
};

export const ACCOUNTS: TableSpec = {
  logicalName: 'account',
  entitySet: 'accounts',
  key: 'accountid',
  // The company's columns; modifiedon (and its formatted value) is never read.
  select: ['accountid', 'name', 'websiteurl', 'industrycode'],
  // The industry's label.
  annotations: ['formattedValue'],
};

export const CONNECTION_ROLE_COLUMNS = ['connectionroleid', 'name', 'category'];

/** The organisation's currencies: an opportunity's currency lookup names one by id. */
export const CURRENCY_COLUMNS = ['transactioncurrencyid', 'isocurrencycode'];

/** Opportunity columns: the core mapping, then the user's extra fields and the sync filter column. */
export function opportunityTable(
  extraColumns: readonly string[],
  filterAttribute: string | undefined,
): TableSpec {
  const extra = [...extraColumns, ...(filterAttribute === undefined ? [] : [filterAttribute])];
  return {
    logicalName: 'opportunity',
    entitySet: 'opportunities',
    key: 'opportunityid',
    select: [...new Set<string>([...OPPORTUNITY_COLUMNS, ...extra])],
    // Labels of option sets outside SPEC's tables, and whether the customer is an account or a contact.
    annotations: ALL_ANNOTATIONS,
  };
}
