import { DynamicsError } from './errors';
import { ALL_ANNOTATIONS, annotationNames, type Annotation, type RawRecord } from './record';
import { isGuid, normaliseGuid } from './guid';
import { decodeBody } from './http-agent';

/** Web API version path under the org URL. */
export const API_PATH = '/api/data/v9.2/';
/** Longest GET URL the Web API accepts. */
export const MAX_GET_URL_CHARS = 32_768;
// A URL inside $batch may be 64 KB; leave room for a server that counts bytes of the request line.
export const MAX_BATCH_URL_CHARS = 65_536 - 536;
/** Default and maximum odata.maxpagesize. */
export const MAX_PAGE_SIZE = 5000;
// Ids per In chunk: a lookup (e.g. connections by record1id) may match several rows per id, and an average of
// up to 10 rows per id still fits one 5,000-row page, so a chunk rarely needs a second (nextLink) round trip.
export const MAX_IDS_PER_CHUNK = 500;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws BAD_REQUEST unless `name` is a plain OData identifier (entity set, column, property name). */
export function assertIdentifier(name: string, what: string): void {
  if (!IDENTIFIER.test(name))
    throw new DynamicsError('BAD_REQUEST', `Invalid ${what}: '${name.slice(0, 80)}'`);
}

/** Percent-encodes a query option value, keeping OData punctuation that is safe in a query readable. */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|2F|3A|40|24|3D)/g, (escape) => decodeURIComponent(escape));
}

export function queryString(options: [string, string | undefined][]): string {
  const parts = options
    .filter((option): option is [string, string] => option[1] !== undefined && option[1] !== '')
    .map(([name, value]) => `${name}=${encodeQueryValue(value)}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** Whether `url` starts a read of a table (neither an @odata.nextLink nor an @odata.deltaLink). */
export function isFirstPageUrl(url: string): boolean {
  return pageChain(url) === url;
}

/** Whether `url` reads with a `$filter` (a backfill's key range, a watermark): such a read cannot track changes. */
export function isFilteredRead(url: string): boolean {
  return /[?&](\$|%24)filter=/i.test(url);
}

/**
 * The read a page belongs to: its URL without the paging and change tokens, the same for every page of one read
 * (a backfill partition's pages, say) and different between reads of different filters.
 */
export function pageChain(url: string): string {
  const question = url.indexOf('?');
  if (question < 0) return url;
  const kept = url
    .slice(question + 1)
    .split('&')
    .filter((part) => !/^(\$|%24)(skiptoken|deltatoken)=/i.test(part));
  return `${url.slice(0, question)}?${kept.join('&')}`;
}

/** The `Prefer` header of a read. */
export function preferHeader(
  pageSize: number,
  trackChanges: boolean,
  annotations: readonly Annotation[] = ALL_ANNOTATIONS,
): string {
  const values = [`odata.maxpagesize=${pageSize}`];
  // Not "*": the navigation-property annotation on every lookup would only make each page larger.
  if (annotations.length > 0)
    values.unshift(`odata.include-annotations="${annotationNames(annotations).join(',')}"`);
  if (trackChanges) values.push('odata.track-changes');
  return values.join(',');
}

export interface Page {
  records: RawRecord[];
  /** Ids (normalised GUIDs) of rows deleted since the delta token, from `$deletedEntity` rows. */
  deletedIds: string[];
  nextLink?: string;
  deltaLink?: string;
}

function invalid(message: string, retryable = true): DynamicsError {
  return new DynamicsError('INVALID_RESPONSE', message, { retryable });
}

/** The id of a row that reports a deletion, or undefined for an ordinary row. */
function deletedIdOf(row: RawRecord): string | undefined {
  const context = row['@odata.context'];
  const isDeletedEntity = typeof context === 'string' && context.includes('$deletedEntity');
  // OData 4.01 servers mark deletions with @removed and identify the row by @id ("opportunities(<guid>)").
  const isRemoved = '@removed' in row || '@odata.removed' in row;
  if (!isDeletedEntity && !isRemoved) return undefined;
  const candidates = [row.id, row['@id'], row['@odata.id']].map((value) =>
    typeof value === 'string' ? (/\(([^)]+)\)$/.exec(value)?.[1] ?? value) : value,
  );
  const id = candidates.find(isGuid);
  // A deletion that cannot be identified must not be dropped silently; retrying would not fix it.
  if (id === undefined)
    throw invalid(`A deleted-row entry has no GUID id: ${JSON.stringify(row).slice(0, 200)}`, false);
  return normaliseGuid(id);
}

/** Parses one page of a collection read (the body of a 2xx response, or its text). */
export function parsePage(content: Buffer | string, request: string): Page {
  let body: unknown;
  try {
    body = JSON.parse(typeof content === 'string' ? content : decodeBody(content));
  } catch {
    const size = typeof content === 'string' ? `${content.length} characters` : `${content.length} bytes`;
    throw invalid(`Response is not valid JSON (${size}; truncated?) (${request})`);
  }
  const value = (body as { value?: unknown } | null)?.value;
  if (typeof body !== 'object' || body === null || !Array.isArray(value)) {
    throw invalid(`Response has no 'value' array (${request})`);
  }
  const page: Page = { records: [], deletedIds: [] };
  for (const row of value as unknown[]) {
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      throw invalid(`A row is not an object (${request})`);
    const deletedId = deletedIdOf(row as RawRecord);
    if (deletedId !== undefined) page.deletedIds.push(deletedId);
    else page.records.push(row as RawRecord);
  }
  const { '@odata.nextLink': nextLink, '@odata.deltaLink': deltaLink } = body as Record<string, unknown>;
  if (typeof nextLink === 'string' && nextLink !== '') page.nextLink = nextLink;
  if (typeof deltaLink === 'string' && deltaLink !== '') page.deltaLink = deltaLink;
  return page;
}

const LINK_KEYS = ['],"@odata.nextLink":"', '],"@odata.deltaLink":"'] as const;

/**
 * Only the links of a page whose rows the caller does not want (a change-tracking baseline), without
 * parsing thousands of rows: the page must end `…],"@odata.nextLink"|"@odata.deltaLink":"<link>"}`.
 * Undefined when it does not (then parse it whole: parsePage reports what is wrong).
 */
export function parsePageLinks(text: string): Page | undefined {
  const end = text.trimEnd();
  if (!end.startsWith('{') || !end.endsWith('"}')) return undefined;
  const [nextAt, deltaAt] = LINK_KEYS.map((key) => end.lastIndexOf(key)) as [number, number];
  const isNext = nextAt > deltaAt;
  const at = isNext ? nextAt : deltaAt;
  if (at < 0) return undefined;
  // The key ends with the link's opening quote; the rest up to the final brace must be one JSON string.
  const literalStart = at + (isNext ? LINK_KEYS[0] : LINK_KEYS[1]).length - 1;
  let link: unknown;
  try {
    link = JSON.parse(end.slice(literalStart, -1));
  } catch {
    return undefined;
  }
  if (typeof link !== 'string' || link === '') return undefined;
  return isNext
    ? { records: [], deletedIds: [], nextLink: link }
    : { records: [], deletedIds: [], deltaLink: link };
}

/** Characters that need no percent-encoding in a query value (a GUID is made of them). */
const URL_SAFE_ID = /^[0-9A-Za-z-]+$/;

/**
 * `Microsoft.Dynamics.CRM.In` filters on `property` covering all `ids`, each making a URL of at most
 * `maxUrlChars`: `urlPrefix` (everything up to and including `$filter=`) and the encoded filter.
 */
export function inFilterChunks(
  urlPrefix: string,
  property: string,
  ids: string[],
  extraFilter: string | undefined,
  maxUrlChars: number,
): string[] {
  // The filter is encoded in three parts so that a page's thousands of ids are not encoded (and the encoding
  // undone for its commas) once per chunk: quotes, commas and the characters of a GUID read the same encoded.
  const head =
    urlPrefix + encodeQueryValue(`Microsoft.Dynamics.CRM.In(PropertyName='${property}',PropertyValues=[`);
  const hasExtra = extraFilter !== undefined && extraFilter.trim() !== '';
  const tail = encodeQueryValue(hasExtra ? `]) and (${extraFilter})` : '])');
  const room = maxUrlChars - head.length - tail.length;
  const urls: string[] = [];
  let chunk: string[] = [];
  // Each item counted with a comma after it: the joined list with one more item is `length + item.length`.
  let length = 0;
  for (const id of ids) {
    const item = URL_SAFE_ID.test(id) ? `'${id}'` : encodeQueryValue(`'${id}'`);
    if (item.length > room)
      throw new DynamicsError('BAD_REQUEST', 'Query is too long for one id per request');
    if (chunk.length === MAX_IDS_PER_CHUNK || length + item.length > room) {
      urls.push(`${head}${chunk.join(',')}${tail}`);
      chunk = [];
      length = 0;
    }
    chunk.push(item);
    length += item.length + 1;
  }
  if (chunk.length > 0) urls.push(`${head}${chunk.join(',')}${tail}`);
  return urls;
}

/** The OData filter of a key range, or undefined for the whole table. */
export function keyRangeFilter(key: string, range: { from?: string; to?: string }): string | undefined {
  const parts = [
    ...(range.from === undefined ? [] : [`${key} ge ${range.from}`]),
    ...(range.to === undefined ? [] : [`${key} lt ${range.to}`]),
  ];
  return parts.length === 0 ? undefined : parts.join(' and ');
}
