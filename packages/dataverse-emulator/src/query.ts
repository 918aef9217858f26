/**
 * Answers Web API GETs on entity sets: $select/$filter/$orderby/$expand/$top/$count, key-based paging
 * with Dataverse-like paging cookies, and change tracking (initial tracked read, delta links, tombstones).
 */
import { CODES, ODataError, propertyNotFound, queryError } from './errors';
import { FilterCompiler, parseFilter, type RowPredicate } from './filter';
import {
  annotationChoice,
  NO_ANNOTATIONS,
  parseSelect,
  RowFormatter,
  type Expand,
  type Selection,
} from './format';
import { decodeSkipToken, encodeSkipToken, type PagingPosition, type SortValue } from './paging-cookie';
import { resolveProperty, type PropertyRef } from './properties';
import type { EntityDef } from './schema';
import { upperBound, type OrgStore, type Row } from './store';

export interface Preferences {
  maxPageSize?: number;
  /** Raw value of odata.include-annotations (with quotes). */
  annotations?: string;
  trackChanges: boolean;
  continueOnError: boolean;
}

export interface QueryParams {
  /** Decoded query options by name. */
  options: Map<string, string>;
  /** The raw `name=value` parts as received, for nextLink/deltaLink. */
  rawParts: string[];
}

export interface QueryAnswer {
  body: Record<string, unknown>;
  preferenceApplied: string[];
}

export interface QueryEngineOptions {
  serviceRoot: string;
  maxPageSize: number;
  changeTracking: Record<string, boolean>;
  changeTokenTtlMs: number;
  now: () => number;
}

const COLLECTION_OPTIONS = new Set([
  '$select',
  '$filter',
  '$orderby',
  '$expand',
  '$top',
  '$count',
  '$skiptoken',
  '$deltatoken',
  '$apply',
]);
const COUNT_LIMIT = 5000;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

interface OrderKey {
  name: string;
  ref: PropertyRef;
  descending: boolean;
}

function sortValue(ref: PropertyRef, row: Row): SortValue {
  const value = ref.get(row);
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return ref.type === 'datetime' ? Date.parse(value) : value.toLowerCase();
  return value as SortValue;
}

/** Nulls first, as SQL Server sorts them ascending. */
function compareValues(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function formatTokenDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

function parseTokenDate(text: string): number {
  const match = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!match) return NaN;
  const [mm = 0, dd = 0, yyyy = 0, hh = 0, mi = 0, ss = 0] = match.slice(1).map(Number);
  return Date.UTC(yyyy, mm - 1, dd, hh, mi, ss);
}

/** Splits on commas that are not inside parentheses or quotes. */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    else if (!quoted && depth === 0 && ch === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter(Boolean);
}

export class QueryEngine {
  constructor(
    private readonly store: OrgStore,
    private readonly options: QueryEngineOptions,
  ) {}

  /** Issues a delta token for the current version of the organisation. */
  deltaToken(version: number): string {
    return `${version}!${formatTokenDate(this.options.now())}`;
  }

  collection(def: EntityDef, params: QueryParams, prefer: Preferences, setPath: string): QueryAnswer {
    const opts = params.options;
    for (const name of opts.keys()) {
      if (name === '$skip')
        throw queryError(
          "The query parameter '$skip' is not supported. Use paging with odata.maxpagesize and @odata.nextLink.",
        );
      if (name.startsWith('$') && !COLLECTION_OPTIONS.has(name))
        throw queryError(`The query parameter '${name}' is not supported.`);
    }
    if (opts.has('$apply'))
      throw queryError("The query parameter '$apply' is not supported by the emulator.");
    const columns = opts.has('$select') ? parseSelect(def, opts.get('$select') ?? '') : null;
    const expands = opts.has('$expand') ? this.parseExpand(def, opts.get('$expand') ?? '') : [];
    const selection: Selection = { columns, expands };
    const applied: string[] = [];
    const formatter = new RowFormatter(
      this.store,
      prefer.annotations ? annotationChoice(prefer.annotations) : NO_ANNOTATIONS,
    );
    if (prefer.annotations) applied.push(`odata.include-annotations=${prefer.annotations}`);
    let pageSize = this.options.maxPageSize;
    let paged = true;
    if (prefer.maxPageSize !== undefined) {
      pageSize = Math.min(Math.max(1, prefer.maxPageSize), this.options.maxPageSize);
      applied.push(`odata.maxpagesize=${pageSize}`);
    } else if (opts.has('$top')) {
      const top = Number(opts.get('$top'));
      if (!Number.isInteger(top) || top < 0)
        throw queryError(`Invalid value '${opts.get('$top')}' for $top.`);
      pageSize = Math.min(top, this.options.maxPageSize);
      paged = false;
    }

    const tracking = prefer.trackChanges || opts.has('$deltatoken');
    if (tracking) {
      if (!this.options.changeTracking[def.logicalName]) {
        throw new ODataError(
          400,
          CODES.changeTrackingDisabled,
          `Change tracking is not enabled for the entity '${def.logicalName}'. Enable change tracking for the entity before requesting changes.`,
        );
      }
      for (const name of ['$filter', '$orderby', '$expand', '$top', '$count', '$apply']) {
        if (opts.has(name))
          throw queryError(
            `The query parameter '${name}' is not supported with change tracking. Only $select can be used with odata.track-changes.`,
          );
      }
      if (prefer.trackChanges) applied.push('odata.track-changes');
    }
    const context = `${this.options.serviceRoot}/$metadata#${setPath}${this.contextSelect(selection)}${tracking ? '/$delta' : ''}`;
    const skipToken = opts.get('$skiptoken');

    if (opts.has('$deltatoken')) {
      return {
        body: this.delta(def, params, selection, formatter, pageSize, context, setPath),
        preferenceApplied: applied,
      };
    }

    const filterText = opts.get('$filter');
    const compiler = new FilterCompiler(this.store, def);
    const filterNode = filterText !== undefined ? parseFilter(filterText) : undefined;
    const predicate: RowPredicate | undefined = filterNode ? compiler.compile(filterNode) : undefined;
    const candidates = filterNode ? compiler.candidates(filterNode) : undefined;
    const order = opts.has('$orderby') ? this.parseOrderBy(def, opts.get('$orderby') ?? '') : [];
    const orderNames = order.map((key) => key.name);
    const position = skipToken !== undefined ? decodeSkipToken(skipToken, def.key, orderNames) : undefined;
    const version = tracking ? (position?.version ?? this.store.currentVersion) : undefined;

    const page =
      order.length > 0
        ? this.orderedPage(def, order, predicate, candidates, position, pageSize)
        : this.keyOrderedPage(def, predicate, candidates, position, pageSize);

    const body: Record<string, unknown> = { '@odata.context': context };
    if (opts.get('$count') === 'true') {
      const total = this.countMatches(def, predicate, candidates);
      body['@odata.count'] = Math.min(total, COUNT_LIMIT);
      if (total > COUNT_LIMIT) body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = true;
    }
    body.value = page.rows.map((row) => formatter.format(def, row, selection));
    const last = page.rows[page.rows.length - 1];
    if (page.more && paged && last) {
      const next: PagingPosition = {
        page: (position?.page ?? 0) + 1,
        lastId: last[def.key] as string,
        lastValues: order.map((key) => sortValue(key.ref, last)),
        version,
        tracking,
      };
      body['@odata.nextLink'] = this.linkWith(
        setPath,
        params,
        '$skiptoken',
        encodeSkipToken(next, def.key, orderNames),
      );
    } else if (tracking && version !== undefined) {
      body['@odata.deltaLink'] = this.linkWith(setPath, params, '$deltatoken', this.deltaToken(version));
    }
    return { body, preferenceApplied: applied };
  }

  single(def: EntityDef, id: string, params: QueryParams, prefer: Preferences, setPath: string): QueryAnswer {
    for (const name of params.options.keys()) {
      if (name.startsWith('$') && name !== '$select' && name !== '$expand')
        throw queryError(`The query parameter '${name}' is not supported on a single record.`);
    }
    if (!GUID.test(id)) throw queryError(`Bad Request - Error in query syntax: '${id}' is not a valid key.`);
    const row = this.store.row(def.logicalName, id);
    if (!row)
      throw new ODataError(
        404,
        CODES.notFound,
        `${def.logicalName} With Id = ${id.toLowerCase()} Does Not Exist`,
      );
    const columns = params.options.has('$select')
      ? parseSelect(def, params.options.get('$select') ?? '')
      : null;
    const expands = params.options.has('$expand')
      ? this.parseExpand(def, params.options.get('$expand') ?? '')
      : [];
    const selection: Selection = { columns, expands };
    const formatter = new RowFormatter(
      this.store,
      prefer.annotations ? annotationChoice(prefer.annotations) : NO_ANNOTATIONS,
    );
    const body = {
      '@odata.context': `${this.options.serviceRoot}/$metadata#${setPath}${this.contextSelect(selection)}/$entity`,
      ...formatter.format(def, row, selection),
    };
    return {
      body,
      preferenceApplied: prefer.annotations ? [`odata.include-annotations=${prefer.annotations}`] : [],
    };
  }

  private keyOrderedPage(
    def: EntityDef,
    predicate: RowPredicate | undefined,
    candidates: string[] | undefined,
    position: PagingPosition | undefined,
    pageSize: number,
  ): { rows: Row[]; more: boolean } {
    const rows: Row[] = [];
    /** Adds a row if it matches; false once the page is full. */
    const add = (row: Row): boolean => {
      if (predicate && !predicate(row)) return true;
      if (rows.length === pageSize) return false;
      rows.push(row);
      return true;
    };
    if (candidates) {
      const ids = [...new Set(candidates)].sort();
      for (let index = position ? upperBound(ids, position.lastId) : 0; index < ids.length; index++) {
        const row = this.store.row(def.logicalName, ids[index] as string);
        if (row && !add(row)) return { rows, more: true };
      }
    } else {
      // The whole table in key order: walk its rows instead of looking each id up.
      const order = this.store.keyOrder(def.logicalName);
      for (
        let index = position ? upperBound(order.ids, position.lastId) : 0;
        index < order.ids.length;
        index++
      ) {
        if (!add(order.rows[index] as Row)) return { rows, more: true };
      }
    }
    return { rows, more: false };
  }

  private orderedPage(
    def: EntityDef,
    order: OrderKey[],
    predicate: RowPredicate | undefined,
    candidates: string[] | undefined,
    position: PagingPosition | undefined,
    pageSize: number,
  ): { rows: Row[]; more: boolean } {
    const matches = this.matchingRows(def, predicate, candidates);
    const keyed = matches.map((row) => ({
      row,
      values: order.map((key) => sortValue(key.ref, row)),
      id: row[def.key] as string,
    }));
    const compareKeyed = (
      a: { values: SortValue[]; id: string },
      b: { values: SortValue[]; id: string },
    ): number => {
      for (let i = 0; i < order.length; i++) {
        const diff = compareValues(a.values[i] ?? null, b.values[i] ?? null);
        if (diff !== 0) return order[i]?.descending ? -diff : diff;
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    };
    keyed.sort(compareKeyed);
    const after = position ? { values: position.lastValues, id: position.lastId } : undefined;
    const rest = after ? keyed.filter((entry) => compareKeyed(entry, after) > 0) : keyed;
    return { rows: rest.slice(0, pageSize).map((entry) => entry.row), more: rest.length > pageSize };
  }

  private matchingRows(
    def: EntityDef,
    predicate: RowPredicate | undefined,
    candidates: string[] | undefined,
  ): Row[] {
    const rows: Row[] = [];
    if (candidates) {
      for (const id of new Set(candidates)) {
        const row = this.store.row(def.logicalName, id);
        if (row && (!predicate || predicate(row))) rows.push(row);
      }
      return rows;
    }
    for (const row of this.store.rows(def.logicalName)) if (!predicate || predicate(row)) rows.push(row);
    return rows;
  }

  private countMatches(
    def: EntityDef,
    predicate: RowPredicate | undefined,
    candidates: string[] | undefined,
  ): number {
    if (!predicate && !candidates) return this.store.count(def.logicalName);
    return this.matchingRows(def, predicate, candidates).length;
  }

  private delta(
    def: EntityDef,
    params: QueryParams,
    selection: Selection,
    formatter: RowFormatter,
    pageSize: number,
    context: string,
    setPath: string,
  ): Record<string, unknown> {
    const token = params.options.get('$deltatoken') ?? '';
    const [versionText, dateText] = token.split('!');
    const since = Number(versionText);
    const issuedAt = parseTokenDate(dateText ?? '');
    if (!Number.isInteger(since) || Number.isNaN(issuedAt))
      throw queryError(`The $deltatoken value '${token}' is not valid.`);
    // A token from before this organisation's data was loaded (another emulator instance) or from a version it
    // never reached is as good as expired: Dataverse answers the same after an org restore.
    if (
      since < this.store.minValidChangeVersion ||
      since > this.store.currentVersion ||
      issuedAt < this.store.createdAtSeconds ||
      this.options.now() - issuedAt > this.options.changeTokenTtlMs
    ) {
      throw new ODataError(
        400,
        CODES.changeTokenExpired,
        'Version stamp associated with the client has expired. Please perform a full sync.',
      );
    }
    const skipToken = params.options.get('$skiptoken');
    const position = skipToken !== undefined ? decodeSkipToken(skipToken, def.key, []) : undefined;
    const version = position?.version ?? this.store.currentVersion;

    const changed = this.store.changedSince(def.logicalName, since);
    const deleted = [
      ...new Set(
        this.store
          .tombstones(def.logicalName)
          .filter((stone) => stone.version > since && !this.store.row(def.logicalName, stone.id))
          .map((stone) => stone.id),
      ),
    ].sort();

    const value: Record<string, unknown>[] = [];
    let lastId: string | undefined;
    let phase: 'changes' | 'deletes' = position?.phase ?? 'changes';
    let more = false;
    if (phase === 'changes') {
      for (let i = position ? upperBound(changed, position.lastId) : 0; i < changed.length; i++) {
        if (value.length === pageSize) {
          more = true;
          break;
        }
        const row = this.store.row(def.logicalName, changed[i] as string);
        if (!row) continue;
        value.push(formatter.format(def, row, selection));
        lastId = changed[i];
      }
    }
    if (!more) {
      const start = phase === 'deletes' && position ? upperBound(deleted, position.lastId) : 0;
      for (let i = start; i < deleted.length; i++) {
        if (value.length === pageSize) {
          more = true;
          break;
        }
        value.push({
          '@odata.context': `${this.options.serviceRoot}/$metadata#${setPath}/$deletedEntity`,
          id: deleted[i],
          reason: 'deleted',
        });
        lastId = deleted[i];
        phase = 'deletes';
      }
    }
    const body: Record<string, unknown> = { '@odata.context': context, value };
    if (more && lastId) {
      const next: PagingPosition = {
        page: (position?.page ?? 0) + 1,
        lastId,
        lastValues: [],
        version,
        phase,
        tracking: true,
      };
      body['@odata.nextLink'] = this.linkWith(
        setPath,
        params,
        '$skiptoken',
        encodeSkipToken(next, def.key, []),
      );
    } else {
      body['@odata.deltaLink'] = this.linkWith(setPath, params, '$deltatoken', this.deltaToken(version), [
        '$deltatoken',
      ]);
    }
    return body;
  }

  /** The request URL with `$skiptoken`/`$deltatoken` replaced, other options kept exactly as sent. */
  private linkWith(
    setPath: string,
    params: QueryParams,
    name: string,
    value: string,
    alsoDrop: string[] = [],
  ): string {
    const drop = new Set(['$skiptoken', name, ...alsoDrop]);
    if (name === '$deltatoken') drop.add('$deltatoken');
    const kept = params.rawParts.filter((part) => {
      const rawName = decodeURIComponent(part.split('=')[0] ?? '');
      return !drop.has(rawName);
    });
    const encoded = encodeURIComponent(value).replace(/!/g, '%21');
    return `${this.options.serviceRoot}/${setPath}?${[...kept, `${name}=${encoded}`].join('&')}`;
  }

  private contextSelect(selection: Selection): string {
    const parts = [
      ...(selection.columns ?? []),
      ...selection.expands.map((e) => `${e.navigation}${this.contextSelect(e.selection) || '()'}`),
    ];
    return parts.length > 0 ? `(${parts.join(',')})` : '';
  }

  private parseOrderBy(def: EntityDef, text: string): OrderKey[] {
    return text.split(',').map((part) => {
      const [name, direction, ...extra] = part.trim().split(/\s+/);
      if (
        !name ||
        extra.length > 0 ||
        (direction !== undefined && direction !== 'asc' && direction !== 'desc')
      ) {
        throw queryError(`Syntax error in $orderby '${text}'.`);
      }
      const ref = resolveProperty(this.store, def, name);
      if (!ref.direct) throw queryError(`Ordering by the path '${name}' is not supported.`);
      return { name, ref, descending: direction === 'desc' };
    });
  }

  private parseExpand(def: EntityDef, text: string): Expand[] {
    const items = splitTopLevel(text, ',');
    if (items.length > 15)
      throw queryError('The $expand query option can expand at most 15 navigation properties.');
    return items.map((item) => {
      const open = item.indexOf('(');
      const navigation = (open >= 0 ? item.slice(0, open) : item).trim();
      const nav = def.navigation[navigation];
      if (!nav) throw propertyNotFound(navigation, def.logicalName);
      const target = this.store.def(nav.target);
      const selection: Selection = { columns: null, expands: [] };
      if (open >= 0) {
        if (!item.endsWith(')')) throw queryError(`Syntax error in $expand '${text}'.`);
        for (const option of splitTopLevel(item.slice(open + 1, -1), ';')) {
          const eq = option.indexOf('=');
          const name = option.slice(0, eq).trim();
          const value = option.slice(eq + 1);
          if (name === '$select') selection.columns = parseSelect(target, value);
          else if (name === '$expand') selection.expands = this.parseExpand(target, value);
          else
            throw queryError(
              `The query option '${name}' is not allowed in the $expand of a single-valued navigation property '${navigation}'.`,
            );
        }
      }
      return { navigation, attribute: nav.attribute, target: nav.target, selection };
    });
  }
}
