import {
  formattedValue,
  isGuid,
  lookupOf,
  normaliseGuid,
  toGuid,
  toSafeMessage,
  DynamicsError,
} from '../dynamics';
import { buildBatch, parseBatchResponse } from '../dynamics/batch';
import { bodyText } from '../dynamics/http-agent';
import { parsePage, inFilterChunks, encodeQueryValue, pageChain } from '../dynamics/odata';
import { parseRetryAfter } from '../dynamics/backoff-gate';
import { registerSecret } from '../dynamics/redact';

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const GUID = '6F9619FF-8B86-D011-B42D-00C04FC964FF';

describe('GUIDs', () => {
  it('accepts 8-4-4-4-12 hex with or without matching braces and normalises to lower case', () => {
    expect(isGuid(GUID)).toBe(true);
    expect(isGuid(`{${GUID}}`)).toBe(true);
    expect(normaliseGuid(`{${GUID}}`)).toBe(GUID.toLowerCase());
  });

  it('gives the one stored form, blanks around it ignored, or undefined', () => {
    expect(toGuid(` {${GUID}} `)).toBe(GUID.toLowerCase());
    expect(toGuid(GUID.toLowerCase())).toBe(GUID.toLowerCase());
    expect([toGuid(`{${GUID}`), toGuid(''), toGuid(7)]).toEqual([undefined, undefined, undefined]);
  });

  it('rejects unbalanced braces, wrong grouping and non-strings', () => {
    for (const bad of [
      `{${GUID}`,
      `${GUID}}`,
      GUID.replace(/-/g, ''),
      `${GUID}0`,
      'zzzzzzzz-8b86-d011-b42d-00c04fc964ff',
      42,
      null,
    ]) {
      expect(isGuid(bad)).toBe(false);
    }
    expect(thrownBy(() => normaliseGuid('not-a-guid'))).toMatchObject({
      name: 'DynamicsError',
      code: 'INVALID_ID',
    });
  });
});

describe('annotations', () => {
  const record = {
    _customerid_value: GUID,
    '_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'contact',
    '_customerid_value@OData.Community.Display.V1.FormattedValue': 'Ada Lovelace',
    statecode: 1,
    'statecode@OData.Community.Display.V1.FormattedValue': 'Won',
    _parentaccountid_value: null,
    _ownerid_value: 'garbage',
  };

  it('reads a polymorphic lookup with its logical name, id lower-cased', () => {
    expect(lookupOf(record, 'customerid')).toEqual({ id: GUID.toLowerCase(), logicalName: 'contact' });
  });

  it('gives null for an empty lookup and INVALID_ID for a lookup that is not a GUID', () => {
    expect(lookupOf(record, 'parentaccountid')).toBeNull();
    expect(lookupOf(record, 'parentcontactid')).toBeNull();
    expect(thrownBy(() => lookupOf(record, 'ownerid'))).toMatchObject({ code: 'INVALID_ID' });
  });

  it('reads formatted values of option sets and lookups', () => {
    expect(formattedValue(record, 'statecode')).toBe('Won');
    expect(formattedValue(record, 'customerid')).toBe('Ada Lovelace');
    expect(formattedValue(record, 'name')).toBeUndefined();
  });
});

describe('pages', () => {
  it('separates $deletedEntity rows from changed rows and keeps the links', () => {
    const page = parsePage(
      JSON.stringify({
        value: [
          { opportunityid: GUID.toLowerCase(), name: 'changed' },
          {
            '@odata.context': 'https://x/api/data/v9.2/$metadata#opportunities/$deletedEntity',
            id: `{${GUID}}`,
            reason: 'deleted',
          },
        ],
        '@odata.deltaLink': 'https://x/api/data/v9.2/opportunities?$deltatoken=1',
      }),
      'GET test',
    );
    expect(page.records).toEqual([{ opportunityid: GUID.toLowerCase(), name: 'changed' }]);
    expect(page.deletedIds).toEqual([GUID.toLowerCase()]);
    expect(page.deltaLink).toContain('$deltatoken=1');
    expect(page.nextLink).toBeUndefined();
  });

  it('reports a truncated body as a retryable INVALID_RESPONSE', () => {
    expect(thrownBy(() => parsePage('{"value":[{"a":1}', 'GET test'))).toMatchObject({
      code: 'INVALID_RESPONSE',
      retryable: true,
    });
  });
});

describe('In chunks', () => {
  it('splits ids so that every URL stays within the limit and every id appears once', () => {
    const ids = Array.from(
      { length: 3000 },
      (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    );
    const prefix = 'https://org/api/data/v9.2/contacts?$filter=';
    const urls = inFilterChunks(prefix, 'contactid', ids, 'statecode eq 0', 4_000);
    expect(urls.length).toBeGreaterThan(1);
    for (const url of urls) expect(url.length).toBeLessThanOrEqual(4_000);
    const seen = urls.flatMap((url) => decodeURIComponent(url).match(/'0{8}-[0-9-]+'/g) ?? []);
    expect(seen.sort()).toEqual(ids.map((id) => `'${id}'`).sort());
  });

  it('makes the URL the whole filter, encoded, would make', () => {
    const ids = ['0a1b2c3d-0000-4000-8000-00000000000a', '0a1b2c3d-0000-4000-8000-00000000000b'];
    const prefix = 'https://org/api/data/v9.2/contacts?$select=contactid&$filter=';
    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=['${ids[0]}','${ids[1]}']) and (statecode eq 0)`;
    expect(inFilterChunks(prefix, 'contactid', ids, 'statecode eq 0', 4_000)).toEqual([
      prefix + encodeQueryValue(filter),
    ]);
    expect(inFilterChunks(prefix, 'contactid', ids, undefined, 4_000)).toEqual([
      prefix + encodeQueryValue(filter.replace(' and (statecode eq 0)', '')),
    ]);
    // A value that is not a plain id is encoded as a whole filter would encode it.
    expect(inFilterChunks(prefix, 'name', ['a b&c'], undefined, 4_000)).toEqual([
      prefix + encodeQueryValue(`Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a b&c'])`),
    ]);
  });

  it('starts a new chunk after 500 ids, and refuses a limit too small for one id', () => {
    const ids = Array.from(
      { length: 1001 },
      (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    );
    const urls = inFilterChunks('https://org/api/data/v9.2/c?$filter=', 'contactid', ids, undefined, 65_000);
    expect(urls.map((url) => url.match(/'0{8}-[0-9-]+'/g)?.length)).toEqual([500, 500, 1]);
    expect(() => inFilterChunks('https://org/x?$filter=', 'contactid', ids, undefined, 120)).toThrow(
      'Query is too long for one id per request',
    );
  });
});

describe('$batch', () => {
  it('builds one part per GET with its headers', () => {
    const { contentType, body } = buildBatch([
      { url: 'https://org/api/data/v9.2/a', headers: { Prefer: 'x' } },
      { url: 'https://org/api/data/v9.2/b', headers: {} },
    ]);
    const boundary = /boundary=(\S+)/.exec(contentType)?.[1] ?? '';
    expect(body.split(`--${boundary}\r\n`)).toHaveLength(3);
    expect(body).toContain('GET https://org/api/data/v9.2/a HTTP/1.1\r\nPrefer: x\r\n');
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  const response = [
    '--batchresponse_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    'HTTP/1.1 200 OK',
    'Content-Type: application/json; odata.metadata=minimal',
    '',
    '{"value":[{"id":1}]}',
    '--batchresponse_1',
    'Content-Type: application/http',
    '',
    'HTTP/1.1 400 Bad Request',
    'Content-Type: application/json',
    '',
    '{"error":{"code":"0x80060888","message":"Could not find a property named \'nope\'"}}',
    '--batchresponse_1--',
    '',
  ].join('\r\n');

  it('parses the status, headers and body of every part in order', () => {
    const parts = parseBatchResponse('multipart/mixed; boundary=batchresponse_1', response);
    expect(parts.map((part) => part.status)).toEqual([200, 400]);
    expect(JSON.parse(bodyText(parts[0]!))).toEqual({ value: [{ id: 1 }] });
    expect(parts[1]!.headers['content-type']).toBe('application/json');
  });

  it('rejects a response cut off before its closing delimiter', () => {
    const truncated = response.slice(0, response.indexOf('--batchresponse_1--'));
    expect(
      thrownBy(() => parseBatchResponse('multipart/mixed; boundary=batchresponse_1', truncated)),
    ).toMatchObject({
      code: 'INVALID_RESPONSE',
    });
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', 1)).toBe(3000);
    const inTen = parseRetryAfter(new Date(Date.now() + 10_000).toUTCString(), 1);
    expect(inTen).toBeGreaterThan(8000);
    expect(inTen).toBeLessThanOrEqual(10_000);
    expect(parseRetryAfter(undefined, 1234)).toBe(1234);
  });
});

describe('safe messages', () => {
  it('strips bearer tokens, token parameters, JWTs and configured secrets', () => {
    registerSecret('s3cret-Value!');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const message = toSafeMessage(
      new Error(
        `Authorization: Bearer abc.def failed; url ?access_token=xyz&a=1 body client_secret=s3cret-Value! token ${jwt}`,
      ),
    );
    expect(message).not.toMatch(/abc\.def|xyz|s3cret-Value!|eyJhbGci/);
    expect(message).toContain('a=1');
    expect(new DynamicsError('BAD_REQUEST', 'password=hunter22 was wrong').message).not.toContain('hunter22');
  });
});

describe('pageChain', () => {
  const base = 'https://org.example/api/data/v9.2/opportunities';
  const first = `${base}?$select=name&$filter=opportunityid%20ge%2080000000-0000-0000-0000-000000000000`;

  it('is the same for every page of one read and differs between filters', () => {
    const next = `${first}&$skiptoken=%3Ccookie%20pagenumber%3D%222%22%20%2F%3E`;
    const encodedName = `${first}&%24skiptoken=%3Ccookie%20pagenumber%3D%223%22%20%2F%3E`;
    expect(pageChain(next)).toBe(first);
    expect(pageChain(encodedName)).toBe(first);
    expect(pageChain(first)).toBe(first);
    expect(
      pageChain(`${base}?$select=name&$filter=opportunityid%20lt%2080000000-0000-0000-0000-000000000000`),
    ).not.toBe(first);
  });

  it('drops a delta link token and keeps a URL without a query as it is', () => {
    expect(pageChain(`${base}?$select=name&$deltatoken=919042%2108%2F22%2F2017%2008%3A10%3A44`)).toBe(
      `${base}?$select=name`,
    );
    expect(pageChain(base)).toBe(base);
  });
});
