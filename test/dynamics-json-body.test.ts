/**
 * parseJsonBody parses a collection page a few rows at a time and must give exactly what JSON.parse gives, for
 * every body: row separators inside strings, nested values, links with brackets, odd layouts, broken bodies.
 */
import { randomUUID } from 'node:crypto';
import { parseJsonBody } from '../dynamics/json-body';
import { parsePage } from '../dynamics/odata';

const API = 'https://org.example.com/api/data/v9.2/';

function row(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@odata.etag': `W/"${1000 + n}"`,
    opportunityid: randomUUID(),
    name: `Opportunity ${n} – Chloé García ${n % 7 === 0 ? '東京' : ''}`,
    estimatedvalue: n * 10.25,
    'statecode@OData.Community.Display.V1.FormattedValue': n % 2 === 0 ? 'Open' : 'Won',
    _customerid_value: n % 5 === 0 ? null : randomUUID(),
    ...extra,
  };
}

function page(rows: unknown[], links: Record<string, string> = {}): Record<string, unknown> {
  return { '@odata.context': `${API}$metadata#opportunities(name)`, value: rows, ...links };
}

const rows = (count: number, extra?: (n: number) => Record<string, unknown>) =>
  Array.from({ length: count }, (_, n) => row(n, extra?.(n)));

/**
 * parseJsonBody of `text`, and how many times it called JSON.parse (1: parsed whole). Each slice is parsed with
 * brackets written over the bytes either side of it; the body must read as it did before, whatever happened.
 */
function parsed(text: string): { value: unknown; parses: number } {
  const spy = jest.spyOn(JSON, 'parse');
  const body = Buffer.from(text, 'utf8');
  try {
    const value = parseJsonBody(body);
    return { value, parses: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
    expect(body.toString('utf8')).toBe(text);
  }
}

describe('parseJsonBody', () => {
  it('parses a large page in slices and gives what JSON.parse gives', () => {
    const text = JSON.stringify(
      page(rows(3_000), { '@odata.nextLink': `${API}opportunities?$skiptoken=%3Ccookie%3E` }),
    );
    const { value, parses } = parsed(text);
    expect(value).toEqual(JSON.parse(text));
    expect(parses).toBeGreaterThan(10);
  });

  it('gives the same value where a row separator occurs inside a string', () => {
    const text = JSON.stringify(
      page(rows(3_000, (n) => (n % 50 === 0 ? { description: 'a},{"b":1 },{ x' } : {}))),
    );
    expect(parsed(text).value).toEqual(JSON.parse(text));
  });

  it('gives the same value where rows hold arrays of objects (separators one level down)', () => {
    const text = JSON.stringify(
      page(rows(2_000, (n) => ({ contacts: [{ id: n }, { id: n + 1, tags: [{ a: 1 }, { b: 2 }] }] }))),
    );
    expect(parsed(text).value).toEqual(JSON.parse(text));
  });

  it('gives the same value with brackets and quotes in the links, and a delta link', () => {
    const links = {
      '@odata.deltaLink': `${API}opportunities?$filter=x in ['a',']'] and y eq "z"&$deltatoken=9]`,
      '@Microsoft.Dynamics.CRM.totalrecordcount': '-1',
    };
    const text = JSON.stringify(page(rows(2_000), links));
    expect(parsed(text).value).toEqual(JSON.parse(text));
  });

  it('gives the same value for pretty-printed pages, pages with "value" elsewhere, and repeated keys', () => {
    const bodies = [
      JSON.stringify(page(rows(1_500)), null, 2),
      JSON.stringify({ value: rows(1_500), '@odata.context': `${API}$metadata#x` }),
      JSON.stringify({ '@odata.count': 1500, value: rows(1_500) }),
      JSON.stringify({ nested: { value: [1] }, value: rows(1_500) }),
      `{"value":${JSON.stringify(rows(1_500))},"value":[]}`,
      `{"value":${JSON.stringify(rows(1_500))},"value":"replaced"}`,
      `{"value":[]${' '.repeat(70_000)}}`,
      `[${JSON.stringify(rows(1_500))}]`,
      JSON.stringify({ value: 'x'.repeat(100_000) }),
    ];
    for (const text of bodies) expect(parsed(text).value).toEqual(JSON.parse(text));
  });

  it('throws as JSON.parse does for a body cut off or broken anywhere', () => {
    const text = JSON.stringify(page(rows(2_000), { '@odata.nextLink': `${API}opportunities?$skiptoken=1` }));
    for (const cut of [10, 70_000, Math.floor(text.length / 2), text.length - 40, text.length - 1]) {
      expect(() => parseJsonBody(Buffer.from(text.slice(0, cut)))).toThrow(SyntaxError);
    }
    // Broken after the first slice: the slices before it parsed, and their brackets were put back.
    const at = text.indexOf('},{', 100_000);
    const broken = `${text.slice(0, at)}},,{${text.slice(at + 3)}`;
    const body = Buffer.from(broken);
    expect(() => parseJsonBody(body)).toThrow(SyntaxError);
    expect(body.toString()).toBe(broken);
  });

  it('is what parsePage reads: rows, deletions and links from the bytes', () => {
    const deleted = randomUUID();
    const body = page(
      [
        ...rows(2_000),
        { '@odata.context': `${API}$metadata#opportunities/$deletedEntity`, id: deleted, reason: 'deleted' },
      ],
      { '@odata.nextLink': `${API}opportunities?$skiptoken=2` },
    );
    const fromBytes = parsePage(Buffer.from(JSON.stringify(body)), 'GET test');
    const fromText = parsePage(JSON.stringify(body), 'GET test');
    expect(fromBytes).toEqual(fromText);
    expect(fromBytes.records).toHaveLength(2_000);
    expect(fromBytes.deletedIds).toEqual([deleted]);
    expect(fromBytes.nextLink).toBe(`${API}opportunities?$skiptoken=2`);
  });
});
