/**
 * The in-memory organisation: rows by id, a global change version (like SQL rowversion), tombstones for
 * change tracking, and indexes (sorted keys, lookups by target id) so hot queries are O(page) or O(ids).
 */
import { randomUUID } from 'node:crypto';
import { buildSchema, OBJECT_TYPE_CODES, type AttributeDef, type EntityDef } from './schema';
import type { Lookup } from './types';

export type Row = Record<string, unknown>;

export interface Tombstone {
  id: string;
  version: number;
}

/**
 * A table's rows in key order (Dataverse pages by primary key), built lazily and dropped on every insert or
 * delete; updates change rows in place, so the order and the rows it holds stay right.
 */
export interface KeyOrder {
  readonly ids: readonly string[];
  /** rows[i] is the row of ids[i]: a page walks the array instead of looking each id up. */
  readonly rows: readonly Row[];
}

/**
 * Every version a table's rows were given, in the order given (so by version): a delta link reads the changes
 * since its version from the end of the log instead of looking at every row of the table.
 */
interface ChangeLog {
  ids: string[];
  versions: number[];
}

interface Table {
  def: EntityDef;
  rows: Map<string, Row>;
  order: KeyOrder | null;
  changes: ChangeLog;
  tombstones: Tombstone[];
  /** lookup attribute → target id → row ids. */
  indexes: Map<string, Map<string, string[]>>;
}

export class EmulatorDataError extends Error {
  override readonly name = 'EmulatorDataError';
  constructor(
    readonly code: 'UNKNOWN_ENTITY' | 'NOT_FOUND' | 'DUPLICATE_KEY' | 'BAD_VALUE',
    message: string,
  ) {
    super(message);
  }
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `2024-03-31T10:00:00Z` already: kept as is (the generator inserts ~700k rows; no reparsing). */
function isCanonicalIso(text: string): boolean {
  return text.length === 20 && text.charCodeAt(10) === 84 /* T */ && text.charCodeAt(19) === 90; /* Z */
}

export function isLookup(value: unknown): value is Lookup {
  return typeof value === 'object' && value !== null && typeof (value as Lookup).id === 'string';
}

export class OrgStore {
  readonly schema: Record<string, EntityDef> = buildSchema();
  private readonly tables = new Map<string, Table>();
  private version = 1_000;
  /** Delta tokens below this version are expired (set by `expireChangeTokens`). */
  minValidChangeVersion = 0;
  /** Test hook (`faults.serveColumns`): `entity:id` → columns served in place of the stored ones. */
  readonly servedColumns = new Map<string, Record<string, unknown>>();
  /** When this organisation's data was loaded, to the second (change tokens carry second precision). */
  readonly createdAtSeconds = Math.floor(Date.now() / 1000) * 1000;
  /** Clock for createdon/modifiedon; replaceable for deterministic datasets. */
  now: () => number = () => Date.now();

  constructor() {
    for (const def of Object.values(this.schema)) {
      const indexes = new Map<string, Map<string, string[]>>();
      for (const [name, attr] of Object.entries(def.attributes))
        if (attr.indexed) indexes.set(name, new Map());
      this.tables.set(def.logicalName, {
        def,
        rows: new Map(),
        order: null,
        changes: { ids: [], versions: [] },
        tombstones: [],
        indexes,
      });
    }
  }

  private nowCache = { second: -1, iso: '' };

  /** Current time as stored (second precision), cached per second. */
  private nowIso(): string {
    const ms = this.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.nowCache.second) this.nowCache = { second, iso: isoSeconds(ms) };
    return this.nowCache.iso;
  }

  get currentVersion(): number {
    return this.version;
  }

  /** Bumps the version without a change, so tokens issued before it can be told apart. */
  bumpVersion(): number {
    return ++this.version;
  }

  table(entity: string): Table {
    const table = this.tables.get(entity);
    if (!table) throw new EmulatorDataError('UNKNOWN_ENTITY', `Unknown entity '${entity}'`);
    return table;
  }

  def(entity: string): EntityDef {
    return this.table(entity).def;
  }

  row(entity: string, id: string): Row | undefined {
    return this.table(entity).rows.get(id.toLowerCase());
  }

  rows(entity: string): IterableIterator<Row> {
    return this.table(entity).rows.values();
  }

  count(entity: string): number {
    return this.table(entity).rows.size;
  }

  sortedIds(entity: string): readonly string[] {
    return this.keyOrder(entity).ids;
  }

  keyOrder(entity: string): KeyOrder {
    const table = this.table(entity);
    if (!table.order) {
      const ids = [...table.rows.keys()].sort();
      table.order = { ids, rows: ids.map((id) => table.rows.get(id) as Row) };
    }
    return table.order;
  }

  tombstones(entity: string): Tombstone[] {
    return this.table(entity).tombstones;
  }

  /** Ids of the rows created or updated after `version` that still exist, in key order. */
  changedSince(entity: string, version: number): string[] {
    const table = this.table(entity);
    const { ids, versions } = table.changes;
    const changed = new Set<string>();
    for (let i = upperBound(versions, version); i < ids.length; i++) {
      const id = ids[i] as string;
      if (table.rows.has(id)) changed.add(id);
    }
    return [...changed].sort();
  }

  /** Gives a row of `table` the next version and logs it. */
  private stamp(table: Table, row: Row, id: string): void {
    row.versionnumber = ++this.version;
    table.changes.ids.push(id);
    table.changes.versions.push(this.version);
  }

  /** Row ids whose lookup `attribute` points at `targetId`, or undefined when that lookup has no index. */
  idsByLookup(entity: string, attribute: string, targetId: string): string[] | undefined {
    const index = this.table(entity).indexes.get(attribute);
    if (!index) return undefined;
    return index.get(targetId.toLowerCase()) ?? [];
  }

  hasLookupIndex(entity: string, attribute: string): boolean {
    return this.table(entity).indexes.has(attribute);
  }

  /** Display name of a lookup target (the FormattedValue of `_x_value`). */
  nameOf(lookupValue: Lookup): string | undefined {
    const table = this.tables.get(lookupValue.logicalName);
    const target = table?.rows.get(lookupValue.id);
    const name = target?.[table?.def.nameAttribute ?? ''];
    return typeof name === 'string' ? name : undefined;
  }

  insert(entity: string, record: Row): string {
    const table = this.table(entity);
    const def = table.def;
    const row: Row = {};
    for (const name in record) row[name] = this.normalize(def, name, record[name]);
    const rawId = row[def.key];
    const id = typeof rawId === 'string' && rawId ? rawId.toLowerCase() : randomUUID();
    if (table.rows.has(id)) throw new EmulatorDataError('DUPLICATE_KEY', `${entity} ${id} already exists`);
    row[def.key] = id;
    row.createdon ??= this.nowIso();
    row.modifiedon ??= row.createdon;
    this.derive(entity, row);
    this.stamp(table, row, id);
    table.rows.set(id, row);
    table.order = null;
    for (const [attribute, index] of table.indexes) addToIndex(index, row[attribute], id);
    return id;
  }

  update(entity: string, id: string, patch: Row): void {
    const table = this.table(entity);
    const row = table.rows.get(id.toLowerCase());
    if (!row) throw new EmulatorDataError('NOT_FOUND', `${entity} With Id = ${id} Does Not Exist`);
    const key = table.def.key;
    for (const [attribute, index] of table.indexes) {
      if (attribute in patch) removeFromIndex(index, row[attribute], row[key] as string);
    }
    for (const [name, value] of Object.entries(patch)) {
      if (name === key || name === 'versionnumber') continue;
      row[name] = this.normalize(table.def, name, value);
    }
    if (!('modifiedon' in patch)) row.modifiedon = this.nowIso();
    this.derive(entity, row, patch);
    this.stamp(table, row, row[key] as string);
    for (const [attribute, index] of table.indexes) {
      if (attribute in patch) addToIndex(index, row[attribute], row[key] as string);
    }
  }

  delete(entity: string, id: string): void {
    const table = this.table(entity);
    const lower = id.toLowerCase();
    const row = table.rows.get(lower);
    if (!row) throw new EmulatorDataError('NOT_FOUND', `${entity} With Id = ${id} Does Not Exist`);
    table.rows.delete(lower);
    table.order = null;
    for (const [attribute, index] of table.indexes) removeFromIndex(index, row[attribute], lower);
    table.tombstones.push({ id: lower, version: ++this.version });
    // Dataverse deletes the connections of a deleted record (both rows of each).
    if (entity !== 'connection' && entity in OBJECT_TYPE_CODES) {
      const connected = [
        ...(this.idsByLookup('connection', 'record1id', lower) ?? []),
        ...(this.idsByLookup('connection', 'record2id', lower) ?? []),
      ];
      for (const connectionId of new Set(connected)) {
        if (this.row('connection', connectionId)) this.delete('connection', connectionId);
      }
    }
  }

  /** Creates a connection as Dataverse stores it: a master row and its reciprocal, roles swapped. */
  connect(
    from: Lookup,
    to: Lookup,
    roleId: string | null,
    opts: {
      reciprocalRoleId?: string | null;
      statecode?: 0 | 1;
      masterId?: string;
      reciprocalId?: string;
    } = {},
  ): string {
    const masterId = (opts.masterId ?? randomUUID()).toLowerCase();
    const reciprocalId = (opts.reciprocalId ?? randomUUID()).toLowerCase();
    if (this.table('connection').rows.has(masterId) || this.table('connection').rows.has(reciprocalId)) {
      throw new EmulatorDataError('DUPLICATE_KEY', `connection ${masterId} already exists`);
    }
    const statecode = opts.statecode ?? 0;
    const statuscode = statecode === 0 ? 1 : 2;
    const fromRef = sharedLookup(from);
    const toRef = sharedLookup(to);
    const role = opts.reciprocalRoleId ? this.roleLookup(opts.reciprocalRoleId) : null;
    const reciprocalRole = roleId ? this.roleLookup(roleId) : null;
    const fromType = OBJECT_TYPE_CODES[fromRef.logicalName] ?? null;
    const toType = OBJECT_TYPE_CODES[toRef.logicalName] ?? null;
    this.insertPrepared('connection', {
      connectionid: masterId,
      record1id: fromRef,
      record2id: toRef,
      record1objecttypecode: fromType,
      record2objecttypecode: toType,
      record1roleid: role,
      record2roleid: reciprocalRole,
      statecode,
      statuscode,
      ismaster: true,
      relatedconnectionid: Object.freeze({ id: reciprocalId, logicalName: 'connection' }),
    });
    this.insertPrepared('connection', {
      connectionid: reciprocalId,
      record1id: toRef,
      record2id: fromRef,
      record1objecttypecode: toType,
      record2objecttypecode: fromType,
      record1roleid: reciprocalRole,
      record2roleid: role,
      statecode,
      statuscode,
      ismaster: false,
      relatedconnectionid: Object.freeze({ id: masterId, logicalName: 'connection' }),
    });
    return masterId;
  }

  /**
   * Inserts a row already in stored shape (lower-case ids, frozen lookups, canonical dates, known columns):
   * the generated dataset's 700k rows skip copying and normalising.
   */
  insertPrepared(entity: string, row: Row): string {
    const table = this.table(entity);
    const id = row[table.def.key] as string;
    if (table.rows.has(id)) throw new EmulatorDataError('DUPLICATE_KEY', `${entity} ${id} already exists`);
    row.createdon ??= this.nowIso();
    row.modifiedon ??= row.createdon;
    this.stamp(table, row, id);
    table.rows.set(id, row);
    table.order = null;
    for (const [attribute, index] of table.indexes) addToIndex(index, row[attribute], id);
    return id;
  }

  private readonly roleLookups = new Map<string, Lookup>();

  private roleLookup(id: string): Lookup {
    const lower = id.toLowerCase();
    let lookup = this.roleLookups.get(lower);
    if (!lookup) {
      lookup = Object.freeze({ id: lower, logicalName: 'connectionrole' });
      this.roleLookups.set(lower, lookup);
    }
    return lookup;
  }

  relatedConnectionId(connectionId: string): string | undefined {
    const related = this.row('connection', connectionId)?.relatedconnectionid;
    return isLookup(related) ? related.id : undefined;
  }

  /** Converts test-hook input to the stored shape and registers extra columns (custom fields). */
  private normalize(def: EntityDef, name: string, value: unknown): unknown {
    let attr: AttributeDef | undefined = def.attributes[name];
    if (!attr) {
      attr = { type: inferType(value) };
      def.attributes[name] = attr;
    }
    if (value === undefined || value === null) return null;
    switch (attr.type) {
      case 'guid':
        return asText(name, value).toLowerCase();
      case 'lookup':
        if (!isLookup(value)) throw new EmulatorDataError('BAD_VALUE', `${name} must be a Lookup or null`);
        // Frozen lookups with a lower-case id are shared safely (the generated dataset reuses them).
        if (Object.isFrozen(value) && value.id === value.id.toLowerCase()) return value;
        return Object.freeze({ id: value.id.toLowerCase(), logicalName: value.logicalName });
      case 'datetime': {
        if (typeof value === 'string' && isCanonicalIso(value)) return value;
        const ms = value instanceof Date ? value.getTime() : Date.parse(asText(name, value));
        if (Number.isNaN(ms)) throw new EmulatorDataError('BAD_VALUE', `${name} must be a date and time`);
        return isoSeconds(ms);
      }
      case 'date':
        return value instanceof Date ? value.toISOString().slice(0, 10) : asText(name, value).slice(0, 10);
      default:
        return value;
    }
  }

  /** The organisation's base currency (`basecurrencyid` of its one organizations row). */
  baseCurrency(): Lookup | undefined {
    for (const organization of this.rows('organization')) {
      const base = organization.basecurrencyid;
      return isLookup(base) ? base : undefined;
    }
    return undefined;
  }

  /**
   * Money as Dataverse saves a record: money values without a currency get the base currency; the record takes
   * its currency's rate as it is now, and each X_base is X / exchangerate (see moneyInBase). A currency the
   * organisation does not have leaves no rate and no base values.
   */
  private deriveMoney(row: Row): void {
    if (!isLookup(row.transactioncurrencyid) && MONEY_COLUMNS.some((c) => typeof row[c] === 'number')) {
      row.transactioncurrencyid = this.baseCurrency() ?? null;
    }
    const currency = row.transactioncurrencyid;
    const rate = isLookup(currency) ? this.row('transactioncurrency', currency.id)?.exchangerate : undefined;
    row.exchangerate = typeof rate === 'number' ? rate : null;
    for (const column of MONEY_COLUMNS) row[`${column}_base`] = moneyInBase(row[column], rate);
  }

  /** Columns Dataverse computes itself. */
  private derive(entity: string, row: Row, patch?: Row): void {
    if (
      entity === 'contact' &&
      (!patch || 'firstname' in patch || 'lastname' in patch) &&
      !(patch ?? row).fullname
    ) {
      row.fullname = [row.firstname, row.lastname]
        .filter((part) => typeof part === 'string' && part)
        .join(' ');
    }
    if (entity === 'opportunity') {
      const formChanged = !patch || 'parentaccountid' in patch || 'parentcontactid' in patch;
      // The form's Account and Contact lookups feed customerid; when both are set the account wins.
      if (formChanged && !(patch ?? row).customerid && (row.parentaccountid || row.parentcontactid)) {
        row.customerid = row.parentaccountid ?? row.parentcontactid;
      }
      this.deriveMoney(row);
    }
    if (entity === 'connection') {
      for (const side of ['record1', 'record2'] as const) {
        const target = row[`${side}id`];
        if (isLookup(target)) row[`${side}objecttypecode`] = OBJECT_TYPE_CODES[target.logicalName] ?? null;
      }
    }
  }
}

/** The opportunity's money columns, each with its `_base` companion. */
const MONEY_COLUMNS = ['estimatedvalue', 'actualvalue'] as const;

/**
 * A money value in the base currency: value / exchangerate, rounded to the 2 decimals of Dataverse's default
 * currency precision; null without a value or a rate.
 */
export function moneyInBase(value: unknown, rate: unknown): number | null {
  if (typeof value !== 'number' || typeof rate !== 'number' || !(rate > 0)) return null;
  return Math.round((value / rate) * 100) / 100;
}

function asText(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new EmulatorDataError('BAD_VALUE', `${name} must be a string`);
  return value;
}

function sharedLookup(value: Lookup): Lookup {
  if (Object.isFrozen(value) && value.id === value.id.toLowerCase()) return value;
  return Object.freeze({ id: value.id.toLowerCase(), logicalName: value.logicalName });
}

function inferType(value: unknown): AttributeDef['type'] {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'decimal';
  if (value instanceof Date) return 'datetime';
  if (isLookup(value)) return 'lookup';
  return 'string';
}

/** The first index of `sorted` (ascending) whose value is above `value`. */
export function upperBound<T extends string | number>(sorted: readonly T[], value: T): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as T) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function addToIndex(index: Map<string, string[]>, value: unknown, id: string): void {
  if (!isLookup(value)) return;
  const bucket = index.get(value.id);
  if (bucket) bucket.push(id);
  else index.set(value.id, [id]);
}

function removeFromIndex(index: Map<string, string[]>, value: unknown, id: string): void {
  if (!isLookup(value)) return;
  const bucket = index.get(value.id);
  if (!bucket) return;
  const at = bucket.indexOf(id);
  if (at >= 0) bucket.splice(at, 1);
  if (bucket.length === 0) index.delete(value.id);
}
