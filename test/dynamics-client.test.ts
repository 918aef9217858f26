/**
 * The Dataverse client against the bundled emulator over https, with real msal-node tokens from the
 * emulator's Entra ID endpoints, in both auth flows.
 */
import {
  annotationProperty,
  DynamicsClient,
  lookupOf,
  formattedValue,
  type DynamicsClientOptions,
  type RawRecord,
} from '../dynamics';
import { startEmulator } from '@oppsync/dataverse-emulator';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const APP = { clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'app-secret-value-1234' };
const PUBLIC_CLIENT_ID = '66666666-7777-8888-9999-000000000000';
const USER = { username: 'sync@contoso.example', password: 'user-password-5678' };
const FLOWS = ['client credentials', 'username/password'] as const;
type Flow = (typeof FLOWS)[number];

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({
    clients: [APP],
    users: [USER],
    publicClientIds: [PUBLIC_CLIENT_ID],
    dataset: 'demo',
    changeTracking: { opportunity: true, contact: true, account: true, connection: true },
  });
});

afterAll(async () => {
  await emulator.close();
});

function clientFor(flow: Flow, overrides: Partial<DynamicsClientOptions> = {}): DynamicsClient {
  const credentials =
    flow === 'client credentials'
      ? { clientId: APP.clientId, clientSecret: APP.clientSecret }
      : { clientId: PUBLIC_CLIENT_ID, username: USER.username, password: USER.password };
  return new DynamicsClient({
    url: emulator.url,
    tenantId: emulator.tenantId,
    authority: emulator.authority,
    ca: emulator.caPem,
    pageSize: 7,
    ...credentials,
    ...overrides,
  });
}

/** Reads every page of a (tracked) read, returning the pages. */
async function readAll(client: DynamicsClient, firstUrl: string, trackChanges = false) {
  const pages = [];
  for (let url: string | undefined = firstUrl; url !== undefined;) {
    const page = await client.getPage(url, { trackChanges });
    pages.push(page);
    url = page.nextLink;
  }
  return pages;
}

function idsOf(records: RawRecord[], key: string): string[] {
  return records.map((record) => String(record[key])).sort();
}

async function caught(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

describe.each(FLOWS)('with %s', (flow) => {
  it('pages at page size 7 through every opportunity exactly once', async () => {
    const client = clientFor(flow);
    const pages = await readAll(client, client.firstPageUrl('opportunities', { select: ['name'] }));
    const expected = emulator.data.list('opportunity').map((row) => String(row.opportunityid));
    expect(pages.length).toBe(Math.ceil(expected.length / 7));
    for (const page of pages) expect(page.records.length).toBeLessThanOrEqual(7);
    expect(
      idsOf(
        pages.flatMap((page) => page.records),
        'opportunityid',
      ),
    ).toEqual([...expected].sort());
    expect(client.requestCount).toBe(pages.length);
  });

  it('tells account customers from contact customers by the lookup annotation', async () => {
    const client = clientFor(flow);
    const pages = await readAll(
      client,
      client.firstPageUrl('opportunities', { select: ['name', '_customerid_value', 'statecode'] }),
    );
    const byId = new Map(emulator.data.list('opportunity').map((row) => [String(row.opportunityid), row]));
    const kinds = new Set<string | undefined>();
    for (const record of pages.flatMap((page) => page.records)) {
      const seeded = byId.get(String(record.opportunityid));
      const customer = seeded?.customerid as { id: string; logicalName: string } | null;
      const lookup = lookupOf(record, 'customerid');
      expect(lookup).toEqual(
        customer ? { id: customer.id.toLowerCase(), logicalName: customer.logicalName } : null,
      );
      kinds.add(lookup?.logicalName);
      expect(formattedValue(record, 'statecode')).toMatch(/^(Open|Won|Lost)$/);
    }
    expect(kinds).toEqual(new Set(['account', 'contact']));
  });

  it('renews an expired token in the middle of paging and reads on', async () => {
    const client = clientFor(flow, { pageSize: 5 });
    const first = await client.getPage(client.firstPageUrl('opportunities', { select: ['name'] }));
    expect(first.nextLink).toBeDefined();
    const rejectionsBefore = emulator.stats.expiredTokenRejections;
    const tokensBefore = emulator.stats.tokensIssued.length;
    emulator.faults.expireAllTokens();
    const rest = await readAll(client, first.nextLink!);
    expect(emulator.stats.expiredTokenRejections).toBe(rejectionsBefore + 1);
    expect(emulator.stats.tokensIssued.length).toBeGreaterThan(tokensBefore);
    const all = [...first.records, ...rest.flatMap((page) => page.records)];
    expect(all).toHaveLength(emulator.data.list('opportunity').length);
  });
});

describe('reads by id', () => {
  it('finds rows by GUIDs in any case or braces, once each, applying the extra filter', async () => {
    const client = clientFor('client credentials');
    const ids = emulator.data.list('contact').map((row) => String(row.contactid));
    emulator.data.update('contact', ids[0]!, { statecode: 1, statuscode: 2 });
    const contacts = emulator.data.list('contact');
    const asked = [...ids.map((id) => `{${id.toUpperCase()}}`), ...ids];
    const rows = await client.getByIds('contacts', 'contactid', asked, ['fullname'], {
      extraFilter: 'statecode eq 0',
    });
    const active = contacts.filter((row) => row.statecode === 0).map((row) => String(row.contactid));
    expect(active).toHaveLength(ids.length - 1);
    expect(idsOf(rows, 'contactid')).toEqual([...active].sort());
    expect(client.requestCount).toBe(1);
    emulator.data.update('contact', ids[0]!, { statecode: 0, statuscode: 1 });
  });

  it('asks for only the annotations a query names', async () => {
    const client = clientFor('client credentials');
    const ids = emulator.data.list('contact').map((row) => String(row.contactid));
    const select = ['fullname', '_parentcustomerid_value', 'modifiedon'];
    const keysOf = (rows: RawRecord[]) => new Set(rows.flatMap((row) => Object.keys(row)));
    const everything = keysOf(await client.getByIds('contacts', 'contactid', ids, select));
    const lookupsOnly = keysOf(
      await client.getByIds('contacts', 'contactid', ids, select, { annotations: ['lookupLogicalName'] }),
    );
    const none = keysOf(await client.getByIds('contacts', 'contactid', ids, select, { annotations: [] }));
    const lookupType = annotationProperty('_parentcustomerid_value', 'lookupLogicalName');
    const formatted = annotationProperty('modifiedon', 'formattedValue');
    expect([everything.has(lookupType), everything.has(formatted)]).toEqual([true, true]);
    expect([lookupsOnly.has(lookupType), lookupsOnly.has(formatted)]).toEqual([true, false]);
    expect([none.has(lookupType), none.has(formatted)]).toEqual([false, false]);
    expect([...none].filter((key) => key.includes('@') && !key.startsWith('@odata'))).toEqual([]);
  });

  it('reads every row of a small table', async () => {
    const client = clientFor('username/password');
    const roles = await client.getAll('connectionroles', ['name', 'category']);
    expect(idsOf(roles, 'connectionroleid')).toEqual(
      emulator.data
        .list('connectionrole')
        .map((row) => String(row.connectionroleid))
        .sort(),
    );
    expect(formattedValue(roles.find((role) => role.category === 1000) ?? {}, 'category')).toBe(
      'Stakeholder',
    );
  });
});

describe('change tracking', () => {
  it('reports updated and deleted rows after the delta link', async () => {
    const client = clientFor('client credentials');
    const full = await readAll(
      client,
      client.firstPageUrl('opportunities', { select: ['name'], trackChanges: true }),
      true,
    );
    const deltaLink = full[full.length - 1]?.deltaLink;
    expect(deltaLink).toBeDefined();
    expect(full.flatMap((page) => page.deletedIds)).toEqual([]);

    const [updated, deleted] = emulator.data.list('opportunity').map((row) => String(row.opportunityid));
    emulator.data.update('opportunity', updated!, { name: 'Renamed by the change-tracking test' });
    emulator.data.remove('opportunity', deleted!);

    const delta = await readAll(client, deltaLink!, true);
    const changed = delta.flatMap((page) => page.records);
    expect(changed.map((row) => row.opportunityid)).toEqual([updated]);
    expect(changed[0]?.name).toBe('Renamed by the change-tracking test');
    expect(delta.flatMap((page) => page.deletedIds)).toEqual([deleted]);
    expect(delta[delta.length - 1]?.deltaLink).toBeDefined();
  });

  it('walks a baseline to its delta link, which then reports only later changes', async () => {
    const client = clientFor('client credentials');
    const seen: number[] = [];
    const walked = await client.walkToDeltaLink(
      client.firstPageUrl('contacts', { select: ['contactid'], trackChanges: true }),
      { trackChanges: true, onPage: () => seen.push(seen.length + 1) },
    );
    const contacts = emulator.data.list('contact').map((row) => String(row.contactid));
    // Baseline pages are of 5,000 whatever the client's page size (7 here): the demo's contacts fit in one.
    expect(contacts.length).toBeGreaterThan(7);
    expect(walked.pages).toBe(Math.ceil(contacts.length / 5000));
    expect(seen).toEqual([1]);
    expect(walked.deltaLink).toBeDefined();

    emulator.data.update('contact', contacts[0]!, { fullname: 'Changed after the baseline' });
    const delta = await readAll(client, walked.deltaLink!, true);
    expect(delta.flatMap((page) => page.records).map((row) => row.contactid)).toEqual([contacts[0]]);
  });

  it('reports an expired change token as CHANGE_TOKEN_EXPIRED, not retryable', async () => {
    const client = clientFor('client credentials');
    const full = await readAll(
      client,
      client.firstPageUrl('contacts', { select: ['fullname'], trackChanges: true }),
      true,
    );
    emulator.faults.expireChangeTokens();
    const error = await caught(client.getPage(full[full.length - 1]!.deltaLink!, { trackChanges: true }));
    expect(error).toMatchObject({ name: 'DynamicsError', code: 'CHANGE_TOKEN_EXPIRED', retryable: false });
    expect(error.message).toMatch(/expired/i);
  });

  it('reads whether a table has change tracking enabled', async () => {
    const client = clientFor('client credentials');
    await expect(client.isChangeTrackingEnabled('opportunity')).resolves.toBe(true);
  });
});

describe('table definitions and access probes', () => {
  it('reads the columns of a table with the AttributeType Dataverse gives each', async () => {
    const types = await clientFor('client credentials').attributeTypes('opportunity');
    expect(Object.fromEntries(types)).toMatchObject({
      opportunityid: 'Uniqueidentifier',
      name: 'String',
      description: 'Memo',
      estimatedvalue: 'Money',
      closeprobability: 'Integer',
      estimatedclosedate: 'DateTime',
      modifiedon: 'DateTime',
      versionnumber: 'BigInt',
      salesstage: 'Picklist',
      statecode: 'State',
      statuscode: 'Status',
      customerid: 'Customer',
      ownerid: 'Owner',
      parentaccountid: 'Lookup',
      new_synctomkto: 'Boolean',
    });
    // Lookups are listed by logical name only, as Dataverse lists them.
    expect(types.has('_customerid_value')).toBe(false);
  });

  it('probes a table with one key-only row, and reports a missing Read privilege as FORBIDDEN naming it', async () => {
    const client = clientFor('client credentials');
    await expect(client.probeRead('contacts', 'contactid')).resolves.toBeUndefined();
    expect(emulator.stats.log.at(-1)?.key).toMatch(/\/contacts\?\$select=contactid$/);
    emulator.faults.denyRead('contact', true);
    try {
      const error = await caught(client.probeRead('contacts', 'contactid'));
      expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403, dataverseCode: '0x80040220' });
      expect(error.message).toContain('prvReadContact');
      // The privilege is the table's, whichever way it is read: $batch parts answer 403 too.
      const ids = emulator.data.list('contact').map((row) => String(row.contactid));
      await expect(client.getByIds('contacts', 'contactid', ids, ['fullname'])).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      await expect(client.probeRead('accounts', 'accountid')).resolves.toBeUndefined();
    } finally {
      emulator.faults.denyRead('contact', false);
    }
  });
});

describe('permanent errors', () => {
  it('reports a wrong client secret as BAD_CREDENTIALS with the AADSTS code and without the secret', async () => {
    const client = clientFor('client credentials', { clientSecret: 'wrong-secret-abcdef' });
    const error = await caught(client.getPage(client.firstPageUrl('accounts', { select: ['name'] })));
    expect(error).toMatchObject({ name: 'DynamicsError', code: 'BAD_CREDENTIALS', retryable: false });
    expect(error.message).toMatch(/AADSTS\d+/);
    expect(error.message).not.toContain('wrong-secret-abcdef');
    expect(client.requestCount).toBe(0);
  });

  it('reports a wrong password as BAD_CREDENTIALS without the password', async () => {
    const client = clientFor('username/password', { password: 'wrong-password-xyz' });
    const error = await caught(client.getAll('accounts', ['name']));
    expect(error).toMatchObject({ name: 'DynamicsError', code: 'BAD_CREDENTIALS', retryable: false });
    expect(error.message).toMatch(/AADSTS\d+/);
    expect(error.message).not.toContain('wrong-password-xyz');
  });

  it('reports an unknown column as UNKNOWN_COLUMN naming the column', async () => {
    const client = clientFor('client credentials');
    const error = await caught(
      client.getPage(client.firstPageUrl('opportunities', { select: ['name', 'new_nosuchcolumn'] })),
    );
    expect(error).toMatchObject({
      code: 'UNKNOWN_COLUMN',
      retryable: false,
      status: 400,
      dataverseCode: '0x80060888',
    });
    expect(error.message).toContain("'new_nosuchcolumn'");
  });

  it('reports an unknown column inside a $batch part as UNKNOWN_COLUMN', async () => {
    const client = clientFor('client credentials');
    const ids = emulator.data.list('account').map((row) => String(row.accountid));
    const error = await caught(client.getByIds('accounts', 'accountid', ids, ['name', 'new_nosuchcolumn']));
    expect(error).toMatchObject({ code: 'UNKNOWN_COLUMN', retryable: false, dataverseCode: '0x80060888' });
    expect(error.message).toContain("'new_nosuchcolumn'");
    expect(client.requestCount).toBe(1);
  });

  it('reports 403 as FORBIDDEN, not retryable', async () => {
    const client = clientFor('client credentials');
    emulator.faults.failNext(1, 403);
    const error = await caught(client.getAll('accounts', ['name']));
    expect(error).toMatchObject({ name: 'DynamicsError', code: 'FORBIDDEN', retryable: false, status: 403 });
  });

  it('rejects an invalid GUID before sending any request', async () => {
    const client = clientFor('client credentials');
    const requestsBefore = emulator.stats.requests;
    const ids = [String(emulator.data.list('contact')[0]?.contactid), "x' or 1 eq 1"];
    const error = await caught(client.getByIds('contacts', 'contactid', ids, ['fullname']));
    expect(error).toMatchObject({ name: 'DynamicsError', code: 'INVALID_ID', retryable: false });
    expect(client.requestCount).toBe(0);
    expect(emulator.stats.requests).toBe(requestsBefore);
  });

  it('renews the token once after a 401 and reports a second 401 as UNAUTHORIZED', async () => {
    const client = clientFor('client credentials');
    await client.getAll('accounts', ['name']);
    const tokensBefore = emulator.stats.tokensIssued.length;
    emulator.faults.failNext(2, 401);
    const error = await caught(client.getAll('accounts', ['name']));
    expect(error).toMatchObject({
      name: 'DynamicsError',
      code: 'UNAUTHORIZED',
      retryable: false,
      status: 401,
    });
    expect(client.requestCount).toBe(3);
    expect(emulator.stats.tokensIssued.length).toBe(tokensBefore + 1);
  });

  it('reports a revoked token whose renewal the IdP refuses as BAD_CREDENTIALS', async () => {
    const client = clientFor('client credentials');
    await client.getAll('accounts', ['name']);
    emulator.faults.revokeAllTokens();
    emulator.faults.rejectCredentials(true);
    try {
      const error = await caught(client.getAll('accounts', ['name']));
      expect(error).toMatchObject({ name: 'DynamicsError', code: 'BAD_CREDENTIALS', retryable: false });
      expect(error.message).not.toContain(APP.clientSecret);
    } finally {
      emulator.faults.rejectCredentials(false);
    }
  });
});

describe('transient errors', () => {
  it('throws a 5xx as a retryable SERVER_ERROR without repeating the request', async () => {
    const client = clientFor('client credentials');
    emulator.faults.failNext(1, 503);
    const error = await caught(client.getAll('accounts', ['name']));
    expect(error).toMatchObject({
      name: 'DynamicsError',
      code: 'SERVER_ERROR',
      retryable: true,
      status: 503,
    });
    expect(client.requestCount).toBe(1);
    await expect(client.getAll('accounts', ['name'])).resolves.toHaveLength(
      emulator.data.list('account').length,
    );
  });

  it('throws a corrupt JSON body as a retryable INVALID_RESPONSE', async () => {
    const client = clientFor('client credentials');
    emulator.faults.corruptNextResponse('opportunities');
    const error = await caught(client.getPage(client.firstPageUrl('opportunities', { select: ['name'] })));
    expect(error).toMatchObject({ name: 'DynamicsError', code: 'INVALID_RESPONSE', retryable: true });
  });
});

describe('kept-alive connections', () => {
  it('a request the server drops on a reused connection is sent once more, on a new one', async () => {
    const client = clientFor('client credentials');
    await client.getAll('accounts', ['name']); // the token, and a connection kept alive
    emulator.stats.reset();
    emulator.faults.dropNextOnReusedConnection(1);
    expect(await client.getAll('accounts', ['name'])).toHaveLength(emulator.data.list('account').length);
    // Dropped before it was logged: the emulator saw one request, the client sent two.
    expect(emulator.stats.requests).toBe(1);
  });
});

describe('service protection (429)', () => {
  afterEach(() => emulator.faults.throttle(null));

  it('waits at least Retry-After before repeating a throttled request, also for concurrent requests', async () => {
    const waits: string[] = [];
    const client = clientFor('client credentials', { onWait: (reason) => waits.push(reason) });
    await client.getAll('accounts', ['name']); // token first, so throttling hits Web API calls only
    emulator.stats.reset();
    emulator.faults.throttle({ ratio: 0.5, retryAfterSeconds: 1 });
    const results = await Promise.all(
      ['accounts', 'contacts', 'opportunities', 'connectionroles'].map((set) => client.getAll(set, [])),
    );
    expect(results.map((rows) => rows.length)).toEqual([
      emulator.data.list('account').length,
      emulator.data.list('contact').length,
      emulator.data.list('opportunity').length,
      emulator.data.list('connectionrole').length,
    ]);
    expect(emulator.stats.throttled).toBeGreaterThan(0);
    expect(waits.length).toBeGreaterThan(0);
    expect(emulator.stats.earlyRetries()).toBe(0);
  });

  it('shares its back-off: publishes every 429 hold, and waits out a hold another worker published', async () => {
    const client = clientFor('client credentials');
    await client.getAll('accounts', ['name']);
    const published: number[] = [];
    let othersHold = Date.now() + 1000;
    client.shareBackoff({
      read: () => Promise.resolve(othersHold),
      publish: (openAt) => published.push(openAt),
    });
    try {
      emulator.stats.reset();
      // Another worker publishes a longer hold while this one waits: it waits that out too.
      const longer = setTimeout(() => (othersHold = Date.now() + 1000), 500);
      await client.getAll('accounts', ['name']);
      clearTimeout(longer);
      expect(emulator.stats.log[0]!.at).toBeGreaterThanOrEqual(othersHold);
      othersHold = 0;
      emulator.faults.throttle({ ratio: 0.5, retryAfterSeconds: 1 });
      while (emulator.stats.throttled < 2) await client.getAll('accounts', ['name']);
      const throttledAt = emulator.stats.log.filter((entry) => entry.status === 429).map((entry) => entry.at);
      expect(published).toHaveLength(throttledAt.length);
      published.forEach((openAt, i) => expect(openAt).toBeGreaterThanOrEqual(throttledAt[i]! + 1000));
    } finally {
      client.shareBackoff(undefined);
    }
  });

  it('two clients of one organisation in one process each share through their own store', async () => {
    // A worker and a dry run in one process: the dry run's store (a scratch copy) must not become the worker's.
    const worker = clientFor('client credentials');
    const dryRun = clientFor('client credentials');
    await worker.getAll('accounts', ['name']);
    const reads = { worker: 0, dryRun: 0 };
    const published = { worker: [] as number[], dryRun: [] as number[] };
    const holdIn = (who: 'worker' | 'dryRun') => ({
      read: () => {
        reads[who] += 1;
        return Promise.resolve(0);
      },
      publish: (openAt: number) => void published[who].push(openAt),
    });
    worker.shareBackoff(holdIn('worker'));
    dryRun.shareBackoff(holdIn('dryRun'));
    try {
      emulator.faults.throttle({ ratio: 1, retryAfterSeconds: 1 });
      const throttledOnce = setTimeout(() => emulator.faults.throttle(null), 200);
      await dryRun.getAll('accounts', ['name']);
      clearTimeout(throttledOnce);
      expect([published.dryRun.length, published.worker.length]).toEqual([1, 0]);
      const before = { ...reads };
      await worker.getAll('accounts', ['name']);
      expect(reads.worker).toBeGreaterThan(before.worker);
      expect(reads.dryRun).toBe(before.dryRun);
    } finally {
      worker.shareBackoff(undefined);
      dryRun.shareBackoff(undefined);
    }
  });

  it('gives up with a retryable THROTTLED after five waits, never early', async () => {
    const client = clientFor('client credentials');
    await client.getAll('accounts', ['name']);
    emulator.stats.reset();
    emulator.faults.throttle({ ratio: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    const error = await caught(client.getAll('accounts', ['name']));
    expect(error).toMatchObject({
      name: 'DynamicsError',
      code: 'THROTTLED',
      retryable: true,
      retryAfterMs: 1000,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    expect(emulator.stats.throttled).toBe(6);
    expect(emulator.stats.earlyRetries()).toBe(0);
  });
});
