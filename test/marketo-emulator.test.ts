import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startMarketoEmulator,
  type MarketoEmulator,
  type MarketoLogEntry,
  type MarketoRecord,
} from '@oppsync/marketo-emulator';
import {
  marketoClient,
  type MarketoEnvelope,
  type MarketoTestClient,
  type RecordResult,
  type TokenBody,
} from './marketo-emulator-http';

let certDir: string;
let emulator: MarketoEmulator;
let client: MarketoTestClient;

beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'oppsync-marketo-test-'));
  emulator = await startMarketoEmulator({ certDir });
  client = marketoClient(emulator);
});
afterAll(async () => {
  await emulator.close();
  await rm(certDir, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.data.clear();
  emulator.stats.reset();
});

const tokenUrl = (secret: string): string =>
  `/identity/oauth/token?grant_type=client_credentials&client_id=${emulator.clientId}&client_secret=${secret}`;

async function seedGraph(): Promise<{ leadId: number }> {
  await client.post('/rest/v1/companies.json', {
    input: [{ externalCompanyId: 'ACC-1', company: 'Contoso' }],
  });
  const leads = await client.post('/rest/v1/leads.json', {
    lookupField: 'dynamicsContactId',
    input: [{ dynamicsContactId: 'C-1', email: 'ann@contoso.example', externalCompanyId: 'ACC-1' }],
  });
  await client.post('/rest/v1/opportunities.json', {
    input: [{ externalOpportunityId: 'OPP-1', name: 'Big deal', externalCompanyId: 'ACC-1' }],
  });
  return { leadId: leads.result?.[0]?.id as number };
}

describe('marketo emulator: identity endpoint and tokens', () => {
  it('returns the same token while it is valid, with its remaining lifetime, and counts no REST call', async () => {
    const first = await client.http.get<TokenBody>(tokenUrl(emulator.clientSecret));
    const second = await client.http.post<TokenBody>(tokenUrl(emulator.clientSecret));
    expect(first.status).toBe(200);
    expect(first.data).toMatchObject({ token_type: 'bearer', scope: expect.any(String) as unknown });
    expect(first.data.access_token).toMatch(/^[0-9a-f-]{36}:int$/);
    expect(second.data.access_token).toBe(first.data.access_token);
    expect(first.data.expires_in).toBeLessThanOrEqual(3600);
    expect(first.data.expires_in).toBeGreaterThan(3590);
    expect(emulator.stats.tokenRequests).toBe(2);
    expect(emulator.stats.calls).toBe(0);
  });

  it('answers a wrong secret with HTTP 401 and ignores credentials sent in a form body', async () => {
    const bad = await client.http.get<unknown>(tokenUrl('wrong'));
    expect(bad.status).toBe(401);
    expect(bad.data).toEqual({ error: 'unauthorized', error_description: 'Bad client credentials' });
    const form = await client.http.post<Partial<TokenBody>>(
      '/identity/oauth/token',
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: emulator.clientId,
        client_secret: emulator.clientSecret,
      }).toString(),
      { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    );
    expect(form.status).toBe(400);
    expect(form.data.access_token).toBeUndefined();
  });

  it('takes the token only from the Authorization header: none, unknown, or as a query parameter is 601', async () => {
    const token = await client.token();
    const describe = '/rest/v1/opportunities/describe.json';
    const none = await client.http.get<MarketoEnvelope>(describe);
    const unknown = await client.http.get<MarketoEnvelope>(describe, {
      headers: { Authorization: 'Bearer nope' },
    });
    const query = await client.http.get<MarketoEnvelope>(`${describe}?access_token=${token}`);
    expect([none, unknown, query].map((reply) => reply.data.errors?.[0]?.code)).toEqual([
      '601',
      '601',
      '601',
    ]);
    expect(none.status).toBe(200);
    expect((await client.get(describe)).success).toBe(true);
  });

  it('answers an expired token 602 on first use and 601 after that; a new token works', async () => {
    const old = await client.token();
    emulator.faults.expireTokens();
    const codes = [];
    for (let i = 0; i < 2; i++)
      codes.push((await client.get('/rest/v1/leads/describe2.json')).errors?.[0]?.code);
    expect(codes).toEqual(['602', '601']);
    const renewed = await client.token();
    expect(renewed).not.toBe(old);
    expect((await client.get('/rest/v1/leads/describe2.json')).success).toBe(true);
  });

  it('lets a token run out by itself after its lifetime', async () => {
    emulator.faults.expireTokens();
    emulator.faults.setTokenLifetime(1);
    try {
      const reply = await client.http.get<TokenBody>(tokenUrl(emulator.clientSecret));
      expect(reply.data.expires_in).toBe(1);
      await client.token();
      expect((await client.get('/rest/v1/leads/describe2.json')).success).toBe(true);
      await sleep(1100);
      expect((await client.get('/rest/v1/leads/describe2.json')).errors?.[0]?.code).toBe('602');
    } finally {
      emulator.faults.setTokenLifetime(3600);
      emulator.faults.expireTokens();
      await client.token();
    }
  });
});

describe('marketo emulator: companies', () => {
  it('upserts by externalCompanyId with seq in input order and integer ids', async () => {
    const created = await client.post('/rest/v1/companies.json', {
      action: 'createOrUpdate',
      dedupeBy: 'dedupeFields',
      input: [
        { externalCompanyId: 'ACC-2', company: 'Fabrikam', website: 'https://fabrikam.example' },
        { externalCompanyId: 'ACC-1', company: 'Contoso', annualRevenue: '1200.50' },
      ],
    });
    expect(created.success).toBe(true);
    expect(created.result).toEqual([
      { seq: 0, id: expect.any(Number) as unknown, status: 'created' },
      { seq: 1, id: expect.any(Number) as unknown, status: 'created' },
    ]);
    const again = await client.post('/rest/v1/companies.json', {
      input: [{ externalCompanyId: 'ACC-1', company: 'Contoso Ltd', industry: '' }],
    });
    expect(again.result).toEqual([{ seq: 0, id: created.result?.[1]?.id, status: 'updated' }]);
    const stored = emulator.data.companies().find((c) => c.externalCompanyId === 'ACC-1');
    expect(stored).toMatchObject({ company: 'Contoso Ltd', annualRevenue: 1200.5, industry: null });
    expect(stored?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('skips bad records with their reasons and keeps the rest of the call', async () => {
    await client.post('/rest/v1/companies.json', {
      input: [{ externalCompanyId: 'ACC-1', company: 'Contoso' }],
    });
    const reply = await client.post('/rest/v1/companies.json', {
      action: 'createOnly',
      input: [
        { externalCompanyId: 'ACC-1', company: 'exists' },
        { externalCompanyId: 'ACC-3', Company: 'wrong case' },
        { externalCompanyId: 'ACC-4', website: 'fabrikam.example' },
        { externalCompanyId: 'ACC-5', company: 'x'.repeat(256) },
        { externalCompanyId: 'ACC-6', company: 'fine' },
        { externalCompanyId: 'ACC-6', company: 'again' },
        { company: 'no key' },
      ],
    });
    expect(client.codes(reply)).toEqual(['1017', '1006', '1001', '1003', '', '1036', '1002']);
    expect(reply.result?.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(reply.result?.[0]).toEqual({
      seq: 0,
      status: 'skipped',
      reasons: [expect.any(Object) as unknown],
    });
    expect(emulator.data.companies().map((c) => c.externalCompanyId)).toEqual(['ACC-1', 'ACC-6']);
    const update = await client.post('/rest/v1/companies.json', {
      action: 'updateOnly',
      input: [{ externalCompanyId: 'ACC-9', company: 'missing' }],
    });
    expect(client.codes(update)).toEqual(['1013']);
  });

  it('queries by filterType and deletes by dedupeFields (1013 when nothing matches)', async () => {
    await client.post('/rest/v1/companies.json', {
      input: [{ externalCompanyId: 'ACC-1', company: 'Contoso' }],
    });
    const found = await client.get('/rest/v1/companies.json', {
      filterType: 'externalCompanyId',
      filterValues: 'ACC-1,ACC-404',
      fields: 'externalCompanyId,company,website',
    });
    expect(found.result).toEqual([{ seq: 0, externalCompanyId: 'ACC-1', company: 'Contoso', website: null }]);
    expect(
      (await client.get('/rest/v1/companies.json', { filterType: 'website', filterValues: 'x' })).errors?.[0]
        ?.code,
    ).toBe('1011');
    const noDeleteBy = await client.post('/rest/v1/companies/delete.json', {
      input: [{ externalCompanyId: 'ACC-1' }],
    });
    expect(noDeleteBy.errors?.[0]?.code).toBe('701');
    const deleted = await client.post('/rest/v1/companies/delete.json', {
      deleteBy: 'dedupeFields',
      input: [{ externalCompanyId: 'ACC-1' }, { externalCompanyId: 'ACC-404' }],
    });
    expect(deleted.result?.[0]).toEqual({ seq: 0, id: expect.any(Number) as unknown, status: 'deleted' });
    expect(client.codes(deleted)).toEqual(['', '1013']);
    expect(emulator.data.companies()).toEqual([]);
  });
});

describe('marketo emulator: leads', () => {
  it('syncs by a custom lookup field, with {id, status} results and no seq', async () => {
    const first = await client.post('/rest/v1/leads.json', {
      lookupField: 'dynamicsContactId',
      input: [
        { dynamicsContactId: 'C-1', firstName: 'Ann' },
        { dynamicsContactId: 'C-2', email: 'bo@x.example' },
      ],
    });
    expect(first.result).toEqual([
      { id: expect.any(Number) as unknown, status: 'created' },
      { id: expect.any(Number) as unknown, status: 'created' },
    ]);
    const second = await client.post('/rest/v1/leads.json', {
      lookupField: 'dynamicsContactId',
      input: [{ dynamicsContactId: 'C-1', email: 'ann@x.example' }],
    });
    expect(second.result).toEqual([{ id: first.result?.[0]?.id, status: 'updated' }]);
    expect(emulator.data.leads()[0]).toMatchObject({ firstName: 'Ann', email: 'ann@x.example' });
    const byEmail = await client.get('/rest/v1/leads.json', {
      filterType: 'email',
      filterValues: 'ann@x.example',
    });
    expect(byEmail.result).toEqual([
      expect.objectContaining({ id: first.result?.[0]?.id, firstName: 'Ann', lastName: null }),
    ]);
  });

  it('refuses unsupported lookup fields and skips bad lead records', async () => {
    await client.post('/rest/v1/companies.json', {
      input: [{ externalCompanyId: 'ACC-1', company: 'Contoso' }],
    });
    expect(
      (await client.post('/rest/v1/leads.json', { lookupField: 'firstName', input: [{}] })).errors,
    ).toEqual([{ code: '1011', message: "Field 'firstName' not supported" }]);
    expect(
      (await client.post('/rest/v1/leads.json', { lookupField: 'nope', input: [{}] })).errors?.[0]?.code,
    ).toBe('1006');
    const reply = await client.post('/rest/v1/leads.json', {
      input: [
        { firstName: 'no email' },
        { email: 'zoë@x.example' },
        { email: 'a@x.example', externalCompanyId: 'ACC-404' },
        { email: 'b@x.example', externalCompanyId: 'ACC-1', company: 'Renamed' },
        { email: 'c@x.example', id: 5 },
        { email: 'd@x.example', externalCompanyId: 'ACC-1' },
      ],
    });
    expect(client.codes(reply)).toEqual(['1002', '1001', '1013', '1021', '1003', '']);
    expect(reply.result?.every((r) => r.seq === undefined)).toBe(true);
    const createOnly = await client.post('/rest/v1/leads.json', {
      action: 'createOnly',
      input: [{ email: 'd@x.example' }],
    });
    const updateOnly = await client.post('/rest/v1/leads.json', {
      action: 'updateOnly',
      input: [{ email: 'z@x.example' }],
    });
    expect([...client.codes(createOnly), ...client.codes(updateOnly)]).toEqual(['1005', '1004']);
  });

  it('answers GET on a write endpoint 605, describes custom fields, and deletes leads by id', async () => {
    expect((await client.get('/rest/v1/leads/delete.json')).errors?.[0]?.code).toBe('605');
    const describe = await client.get<{ fields: { name: string; dataType: string }[] }>(
      '/rest/v1/leads/describe2.json',
    );
    expect(describe.result?.[0]?.fields).toContainEqual(
      expect.objectContaining({ name: 'dynamicsContactId' }),
    );
    const created = await client.post('/rest/v1/leads.json', { input: [{ email: 'a@x.example' }] });
    const id = created.result?.[0]?.id;
    const deleted = await client.post('/rest/v1/leads/delete.json', { input: [{ id }, { id: 999 }] });
    expect(deleted.result?.[0]).toEqual({ id, status: 'deleted' });
    expect(client.codes(deleted)).toEqual(['', '1013']);
    expect(emulator.data.leads()).toEqual([]);
  });
});

describe('marketo emulator: opportunities and roles', () => {
  it('upserts opportunities with typed values, marketoGUIDs and per-record reasons in input order', async () => {
    await seedGraph();
    const reply = await client.post('/rest/v1/opportunities.json', {
      input: [
        {
          externalOpportunityId: 'OPP-2',
          name: 'Second',
          amount: '1604.47',
          closeDate: '2025-02-28',
          isClosed: true,
          isWon: false,
          probability: 40,
          externalCreatedDate: '2025-01-01T10:00:00Z',
        },
        { externalOpportunityId: 'OPP-3', name: null },
        { externalOpportunityId: 'OPP-4', name: 'x', isWon: 'true' },
        { externalOpportunityId: 'OPP-5', name: 'x', closeDate: '2025-02-30' },
        { externalOpportunityId: 'OPP-6', name: 'x', description: 'd'.repeat(2001) },
        { externalOpportunityId: 'OPP-1', name: 'Renamed' },
        { externalOpportunityId: 'OPP-1', name: 'Twice' },
        { externalOpportunityId: 'OPP-7', name: 'x', externalCompanyId: 'ACC-404' },
      ],
    });
    expect(client.codes(reply)).toEqual(['', '1002', '1001', '1001', '1003', '', '1036', '1013']);
    expect(reply.result?.[0]).toEqual({
      seq: 0,
      marketoGUID: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      status: 'created',
    });
    expect(reply.result?.[5]).toMatchObject({ seq: 5, status: 'updated' });
    const stored = emulator.data.opportunities().find((o) => o.externalOpportunityId === 'OPP-2');
    expect(stored).toMatchObject({
      amount: 1604.47,
      closeDate: '2025-02-28',
      isClosed: true,
      probability: 40,
    });
    expect(emulator.data.opportunities().find((o) => o.externalOpportunityId === 'OPP-1')?.name).toBe(
      'Renamed',
    );
  });

  it('does not let an update change a key field, and queries by externalOpportunityId', async () => {
    await seedGraph();
    const [opportunity] = emulator.data.opportunities();
    const reply = await client.post('/rest/v1/opportunities.json', {
      action: 'updateOnly',
      dedupeBy: 'idField',
      input: [{ marketoGUID: opportunity?.marketoGUID, externalOpportunityId: 'OPP-CHANGED' }],
    });
    expect(client.codes(reply)).toEqual(['1003']);
    const upsertById = await client.post('/rest/v1/opportunities.json', { dedupeBy: 'idField', input: [{}] });
    expect(upsertById.errors?.[0]?.code).toBe('1003');
    const found = await client.get('/rest/v1/opportunities.json', {
      filterType: 'externalOpportunityId',
      filterValues: 'OPP-1',
    });
    expect(found.result).toEqual([
      {
        seq: 0,
        marketoGUID: opportunity?.marketoGUID,
        externalOpportunityId: 'OPP-1',
        createdAt: expect.any(String) as unknown,
        updatedAt: expect.any(String) as unknown,
      },
    ]);
  });

  it('creates roles on the compound key only for an existing lead and opportunity', async () => {
    const { leadId } = await seedGraph();
    const role = { externalOpportunityId: 'OPP-1', leadId, role: 'Decision Maker', isPrimary: true };
    const reply = await client.post('/rest/v1/opportunities/roles.json', {
      input: [
        role,
        { ...role, leadId: 999 },
        { ...role, externalOpportunityId: 'OPP-404' },
        { ...role, isPrimary: 1 },
      ],
    });
    expect(client.codes(reply)).toEqual(['', '1013', '1013', '1036']);
    const again = await client.post('/rest/v1/opportunities/roles.json', {
      input: [{ ...role, isPrimary: false }],
    });
    expect(again.result).toEqual([
      { seq: 0, marketoGUID: reply.result?.[0]?.marketoGUID, status: 'updated' },
    ]);
    expect(emulator.data.roles()).toEqual([expect.objectContaining({ leadId, isPrimary: false })]);
    const compound = await client.post<Record<string, unknown>>(
      '/rest/v1/opportunities/roles.json?_method=GET',
      {
        filterType: 'dedupeFields',
        fields: ['marketoGUID', 'role'],
        input: [{ externalOpportunityId: 'OPP-1', leadId, role: 'Decision Maker' }],
      },
    );
    expect(compound.result).toEqual([
      { seq: 0, marketoGUID: reply.result?.[0]?.marketoGUID, role: 'Decision Maker' },
    ]);
    const byLead = await client.get('/rest/v1/opportunities/roles.json', {
      filterType: 'leadId',
      filterValues: String(leadId),
    });
    expect(byLead.result).toHaveLength(1);
  });

  it('refuses to delete an opportunity its roles still reference; deletes roles then the opportunity', async () => {
    const { leadId } = await seedGraph();
    const key = { externalOpportunityId: 'OPP-1', leadId, role: 'Buyer' };
    await client.post('/rest/v1/opportunities/roles.json', { input: [key] });
    const early = await client.post('/rest/v1/opportunities/delete.json', {
      deleteBy: 'dedupeFields',
      input: [{ externalOpportunityId: 'OPP-1' }],
    });
    expect(client.codes(early)).toEqual(['1022']);
    const roles = await client.post('/rest/v1/opportunities/roles/delete.json', {
      deleteBy: 'dedupeFields',
      input: [key, { ...key, role: 'Other' }],
    });
    expect(client.codes(roles)).toEqual(['', '1013']);
    const opportunity = await client.post('/rest/v1/opportunities/delete.json', {
      deleteBy: 'dedupeFields',
      input: [{ externalOpportunityId: 'OPP-1' }],
    });
    expect(opportunity.result).toEqual([
      { seq: 0, marketoGUID: expect.any(String) as unknown, status: 'deleted' },
    ]);
    expect(emulator.data.opportunities()).toEqual([]);
  });

  it('serves the describe it was configured with and refuses fields it does not list', async () => {
    const custom = await startMarketoEmulator({
      certDir,
      omitOpportunityFields: ['probability'],
      opportunityFields: [{ name: 'dynamicsOwner', dataType: 'string', length: 10 }],
    });
    try {
      const other = marketoClient(custom);
      const describe = await other.get<{ fields: { name: string }[]; searchableFields: string[][] }>(
        '/rest/v1/opportunities/describe.json',
      );
      const names = describe.result?.[0]?.fields.map((field) => field.name);
      expect(names).toContain('dynamicsOwner');
      expect(names).not.toContain('probability');
      expect(describe.result?.[0]?.searchableFields).toContainEqual(['dynamicsOwner']);
      const reply = await other.post('/rest/v1/opportunities.json', {
        input: [
          { externalOpportunityId: 'O1', name: 'a', probability: 10 },
          { externalOpportunityId: 'O2', name: 'b', dynamicsOwner: 'x'.repeat(11) },
          { externalOpportunityId: 'O3', name: 'c', dynamicsOwner: 'ann' },
        ],
      });
      expect(other.codes(reply)).toEqual(['1006', '1003', '']);
    } finally {
      await custom.close();
    }
  });
});

describe('marketo emulator: request checks', () => {
  it('takes at most 300 records a call and refuses a 301-record call whole', async () => {
    const records = (n: number) => Array.from({ length: n }, (_, i) => ({ externalCompanyId: `A-${i}` }));
    const over = await client.post('/rest/v1/companies.json', { input: records(301) });
    expect(over.success).toBe(false);
    expect(over.errors?.[0]?.code).toBe('1003');
    expect(emulator.data.companies()).toHaveLength(0);
    const full = await client.post<RecordResult>('/rest/v1/companies.json', { input: records(300) });
    expect(full.result).toHaveLength(300);
    expect(full.result?.[299]?.seq).toBe(299);
  });

  it('answers a body over 1 MB with HTTP 413 and stores nothing', async () => {
    const big = { input: [{ externalCompanyId: 'A', company: 'x'.repeat(1_048_576) }] };
    const reply = await client.http.post('/rest/v1/companies.json', big, {
      headers: { Authorization: `Bearer ${await client.token()}` },
    });
    expect(reply.status).toBe(413);
    expect(emulator.data.companies()).toHaveLength(0);
    expect(emulator.stats.log.at(-1)).toMatchObject({ httpStatus: 413, records: 1 });
  });

  it('answers 612 without a JSON content type, 609 for bad JSON, 610 for an unknown resource', async () => {
    const text = await client.post('/rest/v1/companies.json', '{"input":[]}', {
      'Content-Type': 'text/plain',
    });
    const bad = await client.post('/rest/v1/companies.json', '{"input":', {
      'Content-Type': 'application/json',
    });
    const unknown = await client.get('/rest/v1/sales/people.json');
    expect([text.errors?.[0]?.code, bad.errors?.[0]?.code, unknown.errors?.[0]?.code]).toEqual([
      '612',
      '609',
      '610',
    ]);
    expect(text.requestId).toMatch(/^[0-9a-f]+#[0-9a-f]+$/);
    expect(new Set([text.requestId, bad.requestId, unknown.requestId]).size).toBe(3);
  });
});

describe('marketo emulator: limits', () => {
  let limited: MarketoEmulator;
  let api: MarketoTestClient;
  const describePath = '/rest/v1/companies/describe.json';
  const code = async (): Promise<string> => (await api.get(describePath)).errors?.[0]?.code ?? '';

  beforeAll(async () => {
    limited = await startMarketoEmulator({ certDir, rateWindowMs: 600, maxCallsPer20s: 3 });
    api = marketoClient(limited);
  });
  afterAll(() => limited.close());
  beforeEach(async () => {
    limited.faults.setLimits({ maxCallsPer20s: 3, maxConcurrent: 10, dailyQuota: 50_000 });
    limited.faults.latencyMs = 0;
    await api.token();
    await sleep(650); // an empty rate window
    limited.stats.reset();
  });

  it('refuses the call that would make more than maxCallsPer20s arrivals in the sliding window (606)', async () => {
    const first = [await code(), await code(), await code()];
    const fourth = await api.get(describePath);
    expect(first).toEqual(['', '', '']);
    expect(fourth.errors?.[0]).toEqual({
      code: '606',
      message: "Max rate limit '3' exceeded with in '0.6' secs",
    });
    // Three more refused calls later in the window: had they counted, they would fill the next window too.
    const firstAt = limited.stats.log[0]?.at ?? 0;
    await sleep(Math.max(0, firstAt + 300 - Date.now()));
    expect([await code(), await code(), await code()]).toEqual(['606', '606', '606']);
    const thirdAt = limited.stats.log[2]?.at ?? 0;
    await sleep(Math.max(0, thirdAt + 610 - Date.now()));
    expect(await code()).toBe('');
    expect(limited.stats.maxCallsInAnyWindow(600)).toBe(7);
    // Within 1 s of a 606: every call after the first one; within 100 ms: the two right behind another 606.
    expect(limited.stats.earlyCalls(1000)).toBe(4);
    expect(limited.stats.earlyCalls(100)).toBe(2);
  });

  it('answers 615 to calls that arrive while maxConcurrent calls execute', async () => {
    limited.faults.setLimits({ maxCallsPer20s: 100, maxConcurrent: 2 });
    limited.faults.latencyMs = 300;
    const started = Date.now();
    const codes = await Promise.all([1, 2, 3, 4].map(() => code()));
    expect(codes.sort()).toEqual(['', '', '615', '615']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // The two admitted calls overlapped; refused ones are answered at once, so they may or may not overlap.
    expect(limited.stats.maxConcurrentSeen()).toBeGreaterThanOrEqual(2);
    expect(
      limited.stats.log.filter((entry) => entry.code === '615').every((e) => e.answeredAt - e.at < 250),
    ).toBe(true);
  });

  it('answers 607 when the daily quota is used, counts no starred code, and starts again on resetQuota', async () => {
    limited.faults.setLimits({ maxCallsPer20s: 100, dailyQuota: 2 });
    limited.faults.resetQuota();
    await api.http.get(describePath); // 601: free
    const codes = [await code(), await code(), await code()];
    expect(codes).toEqual(['', '', '607']);
    limited.faults.resetQuota();
    expect(await code()).toBe('');
  });
});

describe('marketo emulator: faults and stats', () => {
  afterEach(() => {
    emulator.faults.setNativeCrmSync(false);
    emulator.faults.denyAccess(false);
    emulator.faults.failNext(0);
    emulator.faults.skipRecords('opportunity', undefined);
  });

  it('with native CRM sync on, skips every company, opportunity and role write with 1018 and still reads', async () => {
    const { leadId } = await seedGraph();
    emulator.faults.setNativeCrmSync(true);
    const writes = await Promise.all([
      client.post('/rest/v1/companies.json', {
        input: [{ externalCompanyId: 'ACC-2' }, { externalCompanyId: 'ACC-3' }],
      }),
      client.post('/rest/v1/opportunities.json', { input: [{ externalOpportunityId: 'OPP-2', name: 'n' }] }),
      client.post('/rest/v1/opportunities/roles.json', {
        input: [{ externalOpportunityId: 'OPP-1', leadId, role: 'r' }],
      }),
      client.post('/rest/v1/opportunities/delete.json', {
        deleteBy: 'dedupeFields',
        input: [{ externalOpportunityId: 'OPP-1' }],
      }),
    ]);
    expect(writes.map((reply) => client.codes(reply))).toEqual([
      ['1018', '1018'],
      ['1018'],
      ['1018'],
      ['1018'],
    ]);
    expect(writes[0]?.result?.[0]).toEqual({
      seq: 0,
      status: 'skipped',
      reasons: [{ code: '1018', message: 'CRM Enabled' }],
    });
    const lead = await client.post('/rest/v1/leads.json', { input: [{ email: 'x@x.example' }] });
    expect(client.codes(lead)).toEqual(['']);
    const read = await client.get('/rest/v1/opportunities.json', {
      filterType: 'externalOpportunityId',
      filterValues: 'OPP-1',
    });
    expect(read.result).toHaveLength(1);
    expect(emulator.data.companies()).toHaveLength(1);
  });

  it('fails the next calls as told, executing nothing, then answers normally', async () => {
    const input = { input: [{ externalCompanyId: 'ACC-1' }] };
    emulator.faults.failNext(1, { httpStatus: 502 });
    const gateway = await client.http.post('/rest/v1/companies.json', input, {
      headers: { Authorization: `Bearer ${await client.token()}` },
    });
    expect(gateway.status).toBe(502);
    emulator.faults.failNext(2, { code: '604' });
    const timeouts = [
      await client.post('/rest/v1/companies.json', input),
      await client.post('/rest/v1/companies.json', input),
    ];
    expect(timeouts.map((reply) => [reply.success, reply.errors?.[0]?.code])).toEqual([
      [false, '604'],
      [false, '604'],
    ]);
    expect(emulator.data.companies()).toHaveLength(0);
    expect(client.codes(await client.post('/rest/v1/companies.json', input))).toEqual(['']);
  });

  it('skips the records a predicate names, and answers 603 while access is denied', async () => {
    await client.post('/rest/v1/companies.json', { input: [{ externalCompanyId: 'ACC-1' }] });
    emulator.faults.skipRecords('opportunity', (record) =>
      record.name === 'poison' ? { code: '1003', message: 'Invalid data' } : undefined,
    );
    const reply = await client.post('/rest/v1/opportunities.json', {
      input: [
        { externalOpportunityId: 'O1', name: 'poison' },
        { externalOpportunityId: 'O2', name: 'fine' },
      ],
    });
    expect(client.codes(reply)).toEqual(['1003', '']);
    emulator.faults.denyAccess(true);
    expect((await client.get('/rest/v1/opportunities/describe.json')).errors?.[0]?.code).toBe('603');
  });

  it('logs every REST call and serves the hooks over HTTP without counting them', async () => {
    await client.token();
    emulator.stats.reset();
    await client.post('/rest/v1/companies.json', {
      input: [{ externalCompanyId: 'ACC-1' }, { externalCompanyId: 'ACC-2' }],
    });
    await client.http.post('/_emulator/faults', { denyAccess: true, failNext: { count: 1, code: '713' } });
    const injected = await client.get('/rest/v1/companies/describe.json');
    const denied = await client.get('/rest/v1/companies/describe.json');
    await client.http.post('/_emulator/faults', { denyAccess: false });
    expect([injected.errors?.[0]?.code, denied.errors?.[0]?.code]).toEqual(['713', '603']);
    const stats = (await client.http.get<{ log: MarketoLogEntry[] }>('/_emulator/stats')).data;
    expect(stats).toMatchObject({ calls: 3, tokenRequests: 0, earlyCalls: 0, maxCallsInAnyWindow: 3 });
    expect(stats.log[0]).toMatchObject({
      method: 'POST',
      path: '/rest/v1/companies.json',
      httpStatus: 200,
      records: 2,
    });
    expect(stats.log[0]?.bytes).toBeGreaterThan(40);
    expect(stats.log[1]).toMatchObject({ code: '713', records: 0 });
    const companies = (await client.http.get<MarketoRecord[]>('/_emulator/data/companies')).data;
    expect(companies.map((c) => c.externalCompanyId)).toEqual(['ACC-1', 'ACC-2']);
    expect(emulator.stats.calls).toBe(3);
  });
});
