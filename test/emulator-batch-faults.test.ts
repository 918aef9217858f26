import { countEarlyRetries, DEMO, startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import { clientToken, httpRequest, webGet, type ODataErrorBody } from './emulator-http';

function batchBody(boundary: string, urls: string[], prefer?: string): string {
  return (
    urls
      .map(
        (url) =>
          `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n` +
          `GET ${url} HTTP/1.1\r\nAccept: application/json\r\n${prefer ? `Prefer: ${prefer}\r\n` : ''}\r\n`,
      )
      .join('') + `--${boundary}--\r\n`
  );
}

interface BatchPart {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

function parseBatchResponse(contentType: string, text: string): BatchPart[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1] ?? '';
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [, http = ''] = chunk.split(/\r\n\r\n/, 2);
      const rest = chunk.slice(chunk.indexOf(http));
      const [head = '', ...bodyParts] = rest.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      );
      return {
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: JSON.parse(bodyParts.join('\r\n\r\n').trim()) as unknown,
      };
    });
}

describe('emulator: $batch', () => {
  let emulator: Emulator;
  let token: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    token = await clientToken(emulator);
  });
  afterAll(() => emulator.close());

  async function postBatch(
    body: string,
    boundary: string,
    prefer?: string,
  ): Promise<{ status: number; parts: BatchPart[]; headers: Record<string, unknown> }> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'Content-Type': `multipart/mixed; boundary=${boundary}`,
      'OData-Version': '4.0',
    };
    if (prefer) headers.Prefer = prefer;
    const reply = await httpRequest(emulator, 'POST', '/api/data/v9.2/$batch', headers, body);
    return {
      status: reply.status,
      headers: reply.headers,
      parts: parseBatchResponse(String(reply.headers['content-type']), reply.text),
    };
  }

  it('answers each GET part in order and counts the batch as one request', async () => {
    emulator.stats.reset();
    const contactIds = [DEMO.contacts.maria, DEMO.contacts.paul].map((id) => `'${id}'`).join(',');
    const urls = [
      `${emulator.url}/api/data/v9.2/contacts?$select=fullname&$filter=Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=[${contactIds}])`,
      `accounts(${DEMO.accounts.contoso})?$select=name`,
      '/api/data/v9.2/connectionroles?$select=name,category&$filter=category%20eq%201000',
    ];
    const reply = await postBatch(batchBody('batch_abc', urls, 'odata.include-annotations="*"'), 'batch_abc');
    expect(reply.status).toBe(200);
    expect(String(reply.headers['content-type'])).toMatch(/^multipart\/mixed; boundary=batchresponse_/);
    expect(reply.parts.map((part) => part.status)).toEqual([200, 200, 200]);
    const [contacts, account, roles] = reply.parts.map(
      (part) => part.body as { value?: { fullname?: string; name?: string }[]; name?: string },
    );
    expect(contacts?.value?.map((row) => row.fullname).sort()).toEqual(['Maria Campbell', 'Paul Cannon']);
    expect(account?.name).toBe('Contoso Ltd');
    expect(roles?.value?.map((row) => row.name).sort()).toEqual([
      'Champion',
      'Decision Maker',
      'Economic Buyer',
      'End User',
      'Influencer',
      'Stakeholder',
      'Technical Buyer',
    ]);
    expect(emulator.stats.requests).toBe(1);
    expect(emulator.stats.log.filter((entry) => entry.path.startsWith('$batch:')).length).toBe(3);
  });

  it('stops at the first failing part unless odata.continue-on-error is preferred', async () => {
    const urls = ['contacts?$select=nosuch', 'accounts?$select=name'];
    const stopped = await postBatch(batchBody('batch_x', urls), 'batch_x');
    expect(stopped.parts.map((part) => part.status)).toEqual([400]);
    const continued = await postBatch(batchBody('batch_y', urls), 'batch_y', 'odata.continue-on-error');
    expect(continued.parts.map((part) => part.status)).toEqual([400, 200]);
    expect(continued.headers['preference-applied']).toBe('odata.continue-on-error');
  });

  it('accepts a URL inside a batch longer than a GET URL may be', async () => {
    const ids = Array.from(
      { length: 1000 },
      (_, i) => `'00000000-0000-4000-8000-${String(i).padStart(12, '0')}'`,
    );
    ids.push(`'${DEMO.contacts.jim}'`);
    const url = `contacts?$select=fullname&$filter=Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=[${ids.join(',')}])`;
    expect(url.length).toBeGreaterThan(32_768);
    const reply = await postBatch(batchBody('batch_long', [url]), 'batch_long');
    expect(reply.parts[0]?.status).toBe(200);
    expect((reply.parts[0]?.body as { value: unknown[] }).value).toHaveLength(1);
  });
});

describe('emulator: faults and service protection', () => {
  let emulator: Emulator;
  let token: string;

  beforeEach(async () => {
    emulator = await startEmulator({ limits: { requestsPerWindow: 5, windowSeconds: 2, concurrent: 52 } });
    token = await clientToken(emulator);
  });
  afterEach(() => emulator.close());

  it('throttles the configured share of requests with 429, Retry-After and 0x80072322', async () => {
    emulator.faults.throttle({ ratio: 1, retryAfterSeconds: 3 });
    const reply = await webGet<ODataErrorBody>(emulator, token, 'opportunities?$select=name');
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('3');
    expect(reply.json.error.code).toBe('0x80072322');
    expect(emulator.stats.throttled).toBe(1);
    expect(emulator.stats.log.at(-1)).toMatchObject({ status: 429, retryAfterMs: 3000 });
    emulator.faults.throttle(null);
    expect((await webGet(emulator, token, 'opportunities?$select=name')).status).toBe(200);
  });

  it('counts early retries from the log: same request before Retry-After elapsed', async () => {
    emulator.faults.throttle({ ratio: 1, retryAfterSeconds: 1 });
    await webGet(emulator, token, 'accounts?$select=name');
    await webGet(emulator, token, 'accounts?$select=name'); // too early
    emulator.faults.throttle(null);
    await webGet(emulator, token, 'contacts?$select=fullname'); // a different request is not a retry
    expect(emulator.stats.earlyRetries()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await webGet(emulator, token, 'accounts?$select=name'); // waited long enough
    expect(emulator.stats.earlyRetries()).toBe(1);
  });

  it('does not count as a repeat a request sent before the 429 was answered', () => {
    const key = 'GET https://org/api/data/v9.2/$batch';
    const entry = (at: number, answeredAt: number, status: number) => ({
      at,
      answeredAt,
      method: 'GET',
      path: '$batch',
      status,
      client: 'app',
      key,
      ...(status === 429 ? { retryAfterMs: 1000 } : {}),
    });
    // Two reads in flight together: the second arrived while the first was being answered 429.
    expect(countEarlyRetries([entry(0, 50, 429), entry(10, 60, 200)])).toBe(0);
    // Sent after the 429 was answered, before its Retry-After had passed: early.
    expect(countEarlyRetries([entry(0, 50, 429), entry(10, 60, 200), entry(900, 950, 200)])).toBe(1);
    // After Retry-After, counted from the answer: not early.
    expect(countEarlyRetries([entry(0, 50, 429), entry(1051, 1100, 200)])).toBe(0);
    // A 429, its early repeat (429 again) and that answer all in one millisecond: one early repeat, not two.
    expect(countEarlyRetries([entry(7, 7, 429), entry(7, 7, 429)])).toBe(1);
  });

  it('enforces the request window per client with a growing Retry-After', async () => {
    const statuses: number[] = [];
    const retryAfters: number[] = [];
    for (let i = 0; i < 8; i++) {
      const reply = await webGet(emulator, token, 'connectionroles?$select=name');
      statuses.push(reply.status);
      if (reply.status === 429) retryAfters.push(Number(reply.headers['retry-after']));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(retryAfters[2]).toBeGreaterThan(retryAfters[0] ?? Infinity);
  });

  it('fails the next N requests with the given 5xx status', async () => {
    emulator.faults.failNext(2, 502);
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await webGet(emulator, token, 'accounts?$select=name')).status);
    expect(statuses).toEqual([502, 502, 200]);
    expect(emulator.stats.injectedFailures).toBe(2);
  });

  it('corrupts the next GET on the named entity set only', async () => {
    emulator.faults.corruptNextResponse('contacts');
    expect((await webGet(emulator, token, 'accounts?$select=name')).status).toBe(200);
    const broken = await webGet(emulator, token, 'contacts?$select=fullname').catch((error: Error) => error);
    expect(broken).toBeInstanceOf(SyntaxError);
    expect((await webGet(emulator, token, 'contacts?$select=fullname')).status).toBe(200);
    expect(emulator.stats.corruptedResponses).toBe(1);
  });

  it('adds latency to Web API requests', async () => {
    emulator.faults.latencyMs = 150;
    const started = Date.now();
    await webGet(emulator, token, 'accounts?$select=name');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('exposes the hooks over HTTP under /_emulator/', async () => {
    const set = await httpRequest(
      emulator,
      'POST',
      '/_emulator/faults',
      { 'Content-Type': 'application/json' },
      JSON.stringify({ failNext: { count: 1, status: 503 } }),
    );
    expect(set.status).toBe(200);
    expect((await webGet(emulator, token, 'accounts?$select=name')).status).toBe(503);
    const stats = JSON.parse((await httpRequest(emulator, 'GET', '/_emulator/stats')).text) as {
      requests: number;
      injectedFailures: number;
    };
    expect(stats).toMatchObject({ requests: 1, injectedFailures: 1 });
    const created = JSON.parse(
      (
        await httpRequest(
          emulator,
          'POST',
          '/_emulator/data/account',
          { 'Content-Type': 'application/json' },
          JSON.stringify({ name: 'Over HTTP Ltd' }),
        )
      ).text,
    ) as { id: string };
    expect(emulator.data.get('account', created.id)?.name).toBe('Over HTTP Ltd');
  });
});

describe('emulator: generated organisation at benchmark scale', () => {
  it('generates 100,000 opportunities and answers In lookups by id exactly', async () => {
    const emulator = await startEmulator({ dataset: { generate: { opportunities: 100_000, seed: 1 } } });
    try {
      const opportunities = emulator.data.list('opportunity');
      expect(opportunities).toHaveLength(100_000);
      const token = await clientToken(emulator);
      const ids = opportunities.slice(50_000, 50_500).map((row) => `'${row.opportunityid as string}'`);
      const reply = await webGet(
        emulator,
        token,
        `connections?$select=_record2id_value&$filter=Microsoft.Dynamics.CRM.In(PropertyName='record1id',PropertyValues=[${ids.join(',')}])`,
      );
      expect(reply.status).toBe(200);
      const wanted = new Set(ids);
      const expected = emulator.data
        .list('connection')
        .filter((row) => wanted.has(`'${(row.record1id as { id: string }).id}'`));
      expect(reply.json.value.length).toBe(expected.length);
    } finally {
      await emulator.close();
    }
  });

  it('generates the same organisation for the same seed', async () => {
    const ids = async (seed: number): Promise<unknown[]> => {
      const emulator = await startEmulator({ dataset: { generate: { opportunities: 50, seed } } });
      try {
        return ['opportunity', 'contact', 'account', 'connection'].flatMap((entity) =>
          emulator.data
            .list(entity as 'opportunity')
            .map((row) => [row[`${entity}id`], row.name ?? row.fullname]),
        );
      } finally {
        await emulator.close();
      }
    };
    const first = await ids(5);
    expect(await ids(5)).toEqual(first);
    expect(await ids(6)).not.toEqual(first);
  });
});
