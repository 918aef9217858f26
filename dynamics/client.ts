import { ALL_ANNOTATIONS, type Annotation, type RawRecord } from './record';
import { TokenProvider, type DynamicsAuthConfig } from './auth';
import type { SharedHold } from './backoff-gate';
import { BatchReads, type PendingGet } from './batch-reads';
import { DynamicsError } from './errors';
import { describeValue, isGuid, normaliseGuid } from './guid';
import { bodyText, createHttp } from './http-agent';
import {
  API_PATH,
  MAX_BATCH_URL_CHARS,
  MAX_GET_URL_CHARS,
  MAX_PAGE_SIZE,
  assertIdentifier,
  inFilterChunks,
  parsePage,
  parsePageLinks,
  preferHeader,
  queryString,
  type Page,
} from './odata';
import { describeRequest } from './response-errors';
import { WebApiTransport, type TransportObserver } from './transport';

export interface DynamicsClientOptions extends DynamicsAuthConfig {
  /** odata.maxpagesize for paged reads (1..5000). */
  pageSize: number;
  /** Per request, default 120000. */
  timeoutMs?: number;
  /** Called (e.g. to heartbeat) while waiting for a Retry-After. */
  onWait?: (reason: string) => void;
  /** The signal that aborts the request about to be sent (an activity's, cancelled when its worker stops). */
  signal?: () => AbortSignal | undefined;
  /** Hears each request sent and each 429 (the worker's metrics). */
  observer?: TransportObserver;
}

export interface IdQuery {
  entitySet: string;
  /** Attribute logical name: a key like 'contactid' or a lookup like 'record1id'. */
  property: string;
  ids: string[];
  select: string[];
  extraFilter?: string;
  /** odata.include-annotations for the query's rows (default ALL_ANNOTATIONS; [] for none). */
  annotations?: readonly Annotation[];
}

/** Options of an id query besides its table, property, ids and columns. */
export type IdQueryOptions = Pick<IdQuery, 'extraFilter' | 'annotations'>;

const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Reads from the Dataverse Web API (never writes). Requests go through one transport that owns tokens,
 * service-protection waits and the request count.
 */
export class DynamicsClient {
  private readonly apiBase: string;
  private readonly transport: WebApiTransport;
  private readonly pageSize: number;
  private readonly tokens: TokenProvider;
  private readonly batches: BatchReads;

  constructor(options: DynamicsClientOptions) {
    if (!Number.isInteger(options.pageSize) || options.pageSize < 1 || options.pageSize > MAX_PAGE_SIZE) {
      throw new DynamicsError(
        'BAD_REQUEST',
        `Page size must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${options.pageSize}`,
      );
    }
    const orgUrl = new URL(options.url);
    if (orgUrl.protocol !== 'https:')
      throw new DynamicsError('BAD_REQUEST', `Dynamics URL must be https, got ${orgUrl.origin}`);
    const url = options.url.replace(/\/+$/, '');
    this.apiBase = `${url}${API_PATH}`;
    this.pageSize = options.pageSize;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const http = createHttp(options.ca);
    this.tokens = new TokenProvider({ ...options, url }, http, timeoutMs);
    this.transport = new WebApiTransport(
      url,
      http,
      this.tokens,
      timeoutMs,
      options.onWait,
      options.signal,
      options.observer,
    );
    this.batches = new BatchReads(this.apiBase, this.transport, (link) => this.ownUrl(link));
  }

  /**
   * Service-protection back-off shared beyond this process: every 429 hold is published to `shared`, and every
   * request first waits out the hold found there, so every worker on the queue honours every Retry-After.
   */
  shareBackoff(shared: SharedHold | undefined): void {
    this.transport.shared = shared;
  }

  /** Whether a saved link (delta link, next link) belongs to this organisation's Web API. */
  servesLink(link: string): boolean {
    return link.startsWith(this.apiBase);
  }

  /** HTTP requests sent to the Web API by this client (a $batch counts 1; token requests are not counted). */
  get requestCount(): number {
    return this.transport.requestCount;
  }

  /**
   * First page URL of a paged read of an entity set. A change-tracking read (`trackChanges`) allows only
   * $select: the server answers 400 to anything else, so it is refused here before any request.
   */
  firstPageUrl(
    entitySet: string,
    q: { select: string[]; filter?: string; orderby?: string; trackChanges?: boolean },
  ): string {
    assertIdentifier(entitySet, 'entity set');
    q.select.forEach((column) => assertIdentifier(column, 'column'));
    if (q.trackChanges && (q.filter !== undefined || q.orderby !== undefined)) {
      throw new DynamicsError(
        'BAD_REQUEST',
        'A change-tracking read accepts only $select (no $filter or $orderby)',
      );
    }
    return `${this.apiBase}${entitySet}${queryString([
      ['$select', q.select.join(',')],
      ['$filter', q.filter],
      ['$orderby', q.orderby],
    ])}`;
  }

  /**
   * GET one page: a first-page URL, an @odata.nextLink or an @odata.deltaLink, followed unchanged.
   * With `trackChanges`, deleted rows come back in `deletedIds` and the last page carries `deltaLink`.
   * `pageSize` (default the client's) is asked for this request only: Dataverse takes odata.maxpagesize from each
   * request, and its links only say where to go on.
   */
  getPage(url: string, opts: { trackChanges?: boolean; pageSize?: number } = {}): Promise<Page> {
    return this.readPage(url, opts.pageSize ?? this.pageSize, opts.trackChanges ?? false);
  }

  /**
   * Walks a table read from `url` to its end for the delta link alone (a change-tracking baseline: Dataverse
   * gives it only after the last page). The rows are not parsed, which makes reading a large table for its link
   * cheap, and the pages are always of 5,000 (the most Dataverse serves), whatever SYNC_PAGE_SIZE says: fewer
   * requests, nothing held. `onPage` hears each page as it is read (an activity heartbeats there).
   */
  async walkToDeltaLink(
    url: string,
    opts: { trackChanges?: boolean; onPage?: () => void } = {},
  ): Promise<{ deltaLink: string | undefined; pages: number }> {
    let deltaLink: string | undefined;
    let pages = 0;
    for (let next: string | undefined = url; next !== undefined;) {
      const page = await this.readPage(next, MAX_PAGE_SIZE, opts.trackChanges ?? false, true);
      pages += 1;
      opts.onPage?.();
      deltaLink = page.deltaLink ?? deltaLink;
      next = page.nextLink;
    }
    return { deltaLink, pages };
  }

  /** Rows of `entitySet` whose `property` is one of `ids` (see getByIdsMany). */
  async getByIds(
    entitySet: string,
    property: string,
    ids: string[],
    select: string[],
    options: IdQueryOptions = {},
  ): Promise<RawRecord[]> {
    const [rows = []] = await this.getByIdsMany([{ entitySet, property, ids, select, ...options }]);
    return rows;
  }

  /**
   * Several id queries in as few $batch round trips as the limits allow: each query's ids (validated and
   * de-duplicated first) are split into Microsoft.Dynamics.CRM.In chunks of at most 64 KB of URL, all chunks
   * of all queries go into batches of at most 1000 parts, and nextLinks of the parts are followed in further
   * batches. Results are in the order of the queries.
   */
  async getByIdsMany(queries: IdQuery[]): Promise<RawRecord[][]> {
    const pending: PendingGet[] = [];
    queries.forEach((query, index) => {
      const annotations = query.annotations ?? ALL_ANNOTATIONS;
      for (const url of this.idQueryUrls(query))
        pending.push({ query: index, url, throttled: 0, annotations });
    });
    return this.batches.run(pending, queries.length);
  }

  /**
   * Every row of several small tables, each a part of one $batch (nextLinks in further batches): tables read
   * together cost one round trip. Results are in the order of the tables.
   */
  async getAllMany(
    tables: { entitySet: string; select: string[]; annotations?: readonly Annotation[] }[],
  ): Promise<RawRecord[][]> {
    const pending = tables.map((table, index): PendingGet => ({
      query: index,
      url: this.firstPageUrl(table.entitySet, { select: table.select }),
      throttled: 0,
      annotations: table.annotations ?? ALL_ANNOTATIONS,
    }));
    return this.batches.run(pending, tables.length);
  }

  /** Every row of a small table, all pages (annotations: as for an id query). */
  async getAll(
    entitySet: string,
    select: string[],
    options: { filter?: string; annotations?: readonly Annotation[] } = {},
  ): Promise<RawRecord[]> {
    const rows: RawRecord[] = [];
    let url: string | undefined = this.firstPageUrl(entitySet, {
      select,
      ...(options.filter !== undefined ? { filter: options.filter } : {}),
    });
    while (url !== undefined) {
      const page = await this.readPage(url, MAX_PAGE_SIZE, false, false, options.annotations);
      rows.push(...page.records);
      url = page.nextLink;
    }
    return rows;
  }

  /** Whether change tracking is enabled on the table (EntityDefinitions.ChangeTrackingEnabled). */
  async isChangeTrackingEnabled(logicalName: string): Promise<boolean> {
    assertIdentifier(logicalName, 'table logical name');
    const url = `${this.apiBase}EntityDefinitions${queryString([
      ['$select', 'LogicalName,ChangeTrackingEnabled'],
      ['$filter', `LogicalName eq '${logicalName.toLowerCase()}'`],
    ])}`;
    const page = await this.readPage(url, MAX_PAGE_SIZE, false);
    const [definition] = page.records;
    if (!definition)
      throw new DynamicsError('NOT_FOUND', `No table with logical name '${logicalName}'`, { status: 404 });
    return definition.ChangeTrackingEnabled === true;
  }

  /** Asks Entra ID for a token (msal's cached one while fresh), to learn whether the credentials work. */
  async authenticate(): Promise<void> {
    await this.tokens.get();
  }

  /**
   * Reads one row of a table, its key only: a 403 (FORBIDDEN) says the identity lacks the Read privilege on
   * it, without reading the table.
   */
  async probeRead(entitySet: string, key: string): Promise<void> {
    await this.readPage(this.firstPageUrl(entitySet, { select: [key] }), 1, false, true, []);
  }

  /** Each column of a table by logical name, with its Dataverse AttributeType ('String', 'Boolean', 'Lookup', …). */
  async attributeTypes(logicalName: string): Promise<Map<string, string>> {
    assertIdentifier(logicalName, 'table logical name');
    const url = `${this.apiBase}EntityDefinitions(LogicalName='${logicalName.toLowerCase()}')/Attributes${queryString(
      [['$select', 'LogicalName,AttributeType']],
    )}`;
    // Metadata queries are not paged: every attribute comes in the one answer.
    const { records } = await this.readPage(url, MAX_PAGE_SIZE, false, false, []);
    return new Map(
      records.flatMap((row) =>
        typeof row.LogicalName === 'string' && typeof row.AttributeType === 'string'
          ? [[row.LogicalName, row.AttributeType] as const]
          : [],
      ),
    );
  }

  private async readPage(
    url: string,
    pageSize: number,
    trackChanges: boolean,
    linksOnly = false,
    annotations: readonly Annotation[] = ALL_ANNOTATIONS,
  ): Promise<Page> {
    const target = this.ownUrl(url);
    if (target.length > MAX_GET_URL_CHARS) {
      throw new DynamicsError(
        'BAD_REQUEST',
        `URL longer than ${MAX_GET_URL_CHARS} characters (${target.length})`,
      );
    }
    const result = await this.transport.send({
      method: 'GET',
      url: target,
      headers: { Prefer: preferHeader(pageSize, trackChanges, annotations) },
    });
    const page =
      (linksOnly ? parsePageLinks(bodyText(result)) : undefined) ??
      parsePage(result.body, describeRequest('GET', target));
    if (trackChanges && page.nextLink === undefined && page.deltaLink === undefined) {
      // The server ignored odata.track-changes (it echoes honoured preferences in Preference-Applied).
      throw new DynamicsError(
        'CHANGE_TRACKING_DISABLED',
        `Change tracking was requested but the last page has no deltaLink (Preference-Applied: ${result.headers['preference-applied'] ?? 'none'}) (${describeRequest('GET', target)})`,
      );
    }
    return page;
  }

  /**
   * `url` as given when it is absolute (links are followed unchanged), resolved against the API base when
   * relative; any other origin is refused because the bearer token goes with the request.
   */
  private ownUrl(url: string): string {
    // A URL under the API base (every URL this client builds, every link its server sends) is its own as it
    // is; parsing each of a page's twenty-kilobyte $batch URLs only to find that out was a tenth of its garbage.
    if (this.servesLink(url)) return url;
    const resolved = new URL(url, this.apiBase);
    if (resolved.origin !== new URL(this.apiBase).origin) {
      throw new DynamicsError(
        'INVALID_RESPONSE',
        `Refusing to send the token to another origin: ${resolved.origin}`,
        {
          retryable: false,
        },
      );
    }
    return /^https:\/\//i.test(url) ? url : resolved.href;
  }

  private idQueryUrls(query: IdQuery): string[] {
    assertIdentifier(query.entitySet, 'entity set');
    assertIdentifier(query.property, 'property');
    query.select.forEach((column) => assertIdentifier(column, 'column'));
    const bad = query.ids.find((id) => !isGuid(id));
    if (bad !== undefined) {
      throw new DynamicsError(
        'INVALID_ID',
        `Not a GUID in ids for ${query.entitySet}.${query.property}: ${describeValue(bad)}`,
      );
    }
    const ids = [...new Set(query.ids.map(normaliseGuid))];
    if (ids.length === 0) return [];
    const select = queryString([['$select', query.select.join(',')]]);
    const prefix = `${this.apiBase}${query.entitySet}${select}${select === '' ? '?' : '&'}$filter=`;
    return inFilterChunks(prefix, query.property, ids, query.extraFilter, MAX_BATCH_URL_CHARS);
  }
}
