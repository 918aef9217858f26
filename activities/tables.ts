/** The Dataverse tables the sync reads, with the columns it needs from each. */
export interface TableSpec {
  readonly logicalName: 'opportunity' | 'connection' | 'contact' | 'account';
  readonly entitySet: string;
  readonly key: string;
  readonly select: readonly string[];
}

export const OPPORTUNITY_COLUMNS = [
  'opportunityid',
  'name',
  'estimatedvalue',
  'actualvalue',
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
  select: [
    'connectionid',
    '_record1id_value',
    '_record2id_value',
    'record1objecttypecode',
    'record2objecttypecode',
    '_record1roleid_value',
    '_record2roleid_value',
    'statecode',
    'ismaster',
    '_relatedconnectionid_value',
  ],
};

export const CONTACTS: TableSpec = {
  logicalName: 'contact',
  entitySet: 'contacts',
  key: 'contactid',
  select: ['contactid', 'firstname', 'lastname', 'emailaddress1', '_parentcustomerid_value', 'modifiedon'],
};

export const ACCOUNTS: TableSpec = {
  logicalName: 'account',
  entitySet: 'accounts',
  key: 'accountid',
  select: ['accountid', 'name', 'websiteurl', 'industrycode', 'modifiedon'],
};

export const CONNECTION_ROLE_COLUMNS = ['connectionroleid', 'name', 'category'];

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
  };
}
