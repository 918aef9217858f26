import {
  ACCOUNTS,
  CONNECTIONS,
  CONTACTS,
  isDynamicsError,
  opportunityTable,
  type DynamicsClient,
} from '../dynamics';
import { fail, pass, reason, type Check } from './check';

interface ReadTable {
  entitySet: string;
  key: string;
  /** The table as the security-role and customisation screens name it. */
  display: string;
  /** Its Read privilege (prvRead<SchemaName>). */
  privilege: string;
}

const OPPORTUNITIES = opportunityTable([], undefined);

/** Every table a run reads, in the order it reads them. */
const READ_TABLES: ReadTable[] = [
  { ...OPPORTUNITIES, display: 'Opportunity', privilege: 'prvReadOpportunity' },
  { ...CONTACTS, display: 'Contact', privilege: 'prvReadContact' },
  { ...ACCOUNTS, display: 'Account', privilege: 'prvReadAccount' },
  { ...CONNECTIONS, display: 'Connection', privilege: 'prvReadConnection' },
  {
    entitySet: 'connectionroles',
    key: 'connectionroleid',
    display: 'Connection Role',
    privilege: 'prvReadConnectionRole',
  },
];

const readCheckName = (table: ReadTable): string => `read: ${table.entitySet}`;
const trackingCheckName = (table: { logicalName: string }): string => `change tracking: ${table.logicalName}`;

/** One key-only row of each table: a 403 names the privilege the sync identity's security role lacks. */
export async function checkReadAccess(client: DynamicsClient, identity: string): Promise<Check[]> {
  const checks: Check[] = [];
  for (const table of READ_TABLES) {
    const name = readCheckName(table);
    try {
      await client.probeRead(table.entitySet, table.key);
      checks.push(pass(name, `${identity} may read ${table.display}`));
    } catch (error) {
      const forbidden = isDynamicsError(error) && error.code === 'FORBIDDEN';
      checks.push(
        fail(
          name,
          reason(error),
          forbidden
            ? `give a security role of ${identity} the Read privilege (${table.privilege}) on the ` +
                `${table.display} table, Organization level (Power Platform admin center > Security roles)`
            : 'check DYNAMICS_URL (the organisation URL, e.g. https://contoso.crm.dynamics.com) and that it answers',
        ),
      );
    }
  }
  return checks;
}

/**
 * What a run does without change tracking on each table, as activities/sync-activities.ts does it: a table
 * that is not tracked is read by `modifiedon` watermarks (5 minutes' overlap), which see no deletes.
 */
const WITHOUT_TRACKING: { logicalName: string; display: string; cost: string }[] = [
  {
    logicalName: OPPORTUNITIES.logicalName,
    display: 'Opportunity',
    cost:
      'each incremental run reads the opportunities modified since the last run (modifiedon) instead of a ' +
      'delta, and sees no deletes: a deleted opportunity is marked deleted only by the next full sync',
  },
  {
    logicalName: CONTACTS.logicalName,
    display: 'Contact',
    cost:
      'each incremental run finds changed contacts by modifiedon instead of a delta, and sees no deletes: ' +
      'the opportunities of a deleted customer contact are read again only by the next full sync; every full ' +
      'sync also reads every contact id for a baseline it cannot use',
  },
  {
    logicalName: ACCOUNTS.logicalName,
    display: 'Account',
    cost:
      'each incremental run finds changed accounts by modifiedon instead of a delta (deleted accounts are not ' +
      'acted on either way); every full sync also reads every account id for a baseline it cannot use',
  },
  {
    logicalName: CONNECTIONS.logicalName,
    display: 'Connection',
    cost:
      'each incremental run finds changed connections by modifiedon instead of a delta, and sees no deletes: ' +
      'a stakeholder whose connection is deleted keeps its role until the next full sync; every full sync ' +
      'also reads every connection id for a baseline it cannot use',
  },
];

/** EntityDefinitions.ChangeTrackingEnabled of each table the sync follows, with what its absence costs. */
export async function checkChangeTracking(client: DynamicsClient): Promise<Check[]> {
  const checks: Check[] = [];
  for (const table of WITHOUT_TRACKING) {
    const name = trackingCheckName(table);
    try {
      checks.push(
        (await client.isChangeTrackingEnabled(table.logicalName))
          ? pass(name, 'enabled: incremental runs read deltas, deletes included')
          : fail(
              name,
              `not enabled: ${table.cost}`,
              `enable Track changes on the ${table.display} table (Power Apps: Tables > ${table.display} > ` +
                `Properties > Advanced options; classic: Settings > Customizations > Entity > Change Tracking), ` +
                `then run oppsync sync --full once: runs keep reading by modifiedon until a full sync takes a baseline`,
            ),
      );
    } catch (error) {
      checks.push(fail(name, reason(error), 'check DYNAMICS_URL and that the organisation answers'));
    }
  }
  return checks;
}

/** The names of this module's checks, in order (for "not checked" lines when there is no token). */
export const TABLE_CHECK_NAMES: readonly string[] = [
  ...READ_TABLES.map(readCheckName),
  ...WITHOUT_TRACKING.map(trackingCheckName),
];
