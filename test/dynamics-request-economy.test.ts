/**
 * Resolving everything one page of opportunities needs (stakeholder connections, customer contacts and
 * accounts, the stakeholders' contacts) costs the same number of Web API requests for 100 as for 5,000.
 */
import { DynamicsClient, lookupOf, type RawRecord } from '../dynamics';
import { startEmulator } from '@oppsync/dataverse-emulator';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const APP = { clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clientSecret: 'economy-secret-1234' };
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ clients: [APP], dataset: { generate: { opportunities: 5000 } } });
});

afterAll(async () => {
  await emulator.close();
});

function idsOfKind(records: RawRecord[], attribute: string, logicalName: string): string[] {
  return records.flatMap((record) => {
    const lookup = lookupOf(record, attribute);
    return lookup && lookup.logicalName === logicalName ? [lookup.id] : [];
  });
}

/** Reads one page of `pageSize` opportunities and resolves its related rows; returns what it read and the cost. */
async function resolvePage(pageSize: number) {
  const client = new DynamicsClient({
    url: emulator.url,
    tenantId: emulator.tenantId,
    authority: emulator.authority,
    ca: emulator.caPem,
    pageSize,
    ...APP,
  });
  const page = await client.getPage(
    client.firstPageUrl('opportunities', { select: ['name', '_customerid_value'] }),
  );
  const opportunityIds = page.records.map((record) => String(record.opportunityid));
  const [connections = [], customerContacts = [], customerAccounts = []] = await client.getByIdsMany([
    {
      entitySet: 'connections',
      property: 'record1id',
      ids: opportunityIds,
      select: ['_record2id_value', '_record2roleid_value', 'statecode'],
      extraFilter: 'statecode eq 0',
    },
    {
      entitySet: 'contacts',
      property: 'contactid',
      ids: idsOfKind(page.records, 'customerid', 'contact'),
      select: ['fullname', '_parentcustomerid_value'],
    },
    {
      entitySet: 'accounts',
      property: 'accountid',
      ids: idsOfKind(page.records, 'customerid', 'account'),
      select: ['name'],
    },
  ]);
  const [stakeholderContacts = [], parentAccounts = []] = await client.getByIdsMany([
    {
      entitySet: 'contacts',
      property: 'contactid',
      ids: idsOfKind(connections, 'record2id', 'contact'),
      select: ['fullname', '_parentcustomerid_value'],
    },
    {
      entitySet: 'accounts',
      property: 'accountid',
      ids: idsOfKind(customerContacts, 'parentcustomerid', 'account'),
      select: ['name'],
    },
  ]);
  return {
    client,
    opportunityIds,
    connections,
    customerContacts,
    customerAccounts,
    stakeholderContacts,
    parentAccounts,
  };
}

it('resolves a page of 100 and a page of 5,000 opportunities with the same number of requests', async () => {
  const small = await resolvePage(100);
  const large = await resolvePage(5000);
  process.stdout.write(
    `Web API requests to read and resolve one page: N=100 → ${small.client.requestCount}, N=5000 → ${large.client.requestCount}\n`,
  );
  expect(small.opportunityIds).toHaveLength(100);
  expect(large.opportunityIds).toHaveLength(5000);
  expect(large.client.requestCount).toBe(small.client.requestCount);
  // One page read plus one $batch per round of lookups.
  expect(large.client.requestCount).toBe(3);

  // Everything asked for came back: every active connection of the page's opportunities, once.
  const pageIds = new Set(large.opportunityIds);
  const expectedConnections = emulator.data
    .list('connection')
    .filter((row) => pageIds.has((row.record1id as { id: string }).id) && row.statecode === 0)
    .map((row) => String(row.connectionid))
    .sort();
  expect(large.connections.map((row) => String(row.connectionid)).sort()).toEqual(expectedConnections);
  expect(expectedConnections.length).toBeGreaterThan(5000);

  const requestedContacts = new Set([...idsOfKind(large.connections, 'record2id', 'contact')]);
  expect(new Set(large.stakeholderContacts.map((row) => String(row.contactid)))).toEqual(requestedContacts);
  expect(large.customerContacts.length + large.customerAccounts.length).toBeGreaterThan(0);
  expect(large.parentAccounts.length).toBeGreaterThan(0);
});
