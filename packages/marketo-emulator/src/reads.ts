/**
 * Reads (LDB §5.0, LEADS): query by filterType/filterValues, the compound-key JSON query of roles, paging
 * with nextPageToken, and `fields` (a field a record lacks reads as null).
 */
import { MarketoCallError } from './envelope';
import { isPlainObject } from './input';
import { leadKeyField } from './leads';
import { COMPANY_LEVEL_LEAD_FIELDS, fieldOf, type ObjectSchema } from './schema';
import type { MarketoStore } from './store';
import type { MarketoObject, MarketoRecord } from './types';
import { keyText } from './values';

const MAX_BATCH = 300;
const MAX_LEAD_MATCHES = 1000;

export interface ReadRequest {
  filterType?: unknown;
  filterValues?: string[];
  /** Key records of a JSON query (`POST …?_method=GET`). */
  input?: unknown;
  fields?: unknown;
  batchSize?: unknown;
  nextPageToken?: unknown;
}

export interface ReadAnswer {
  result: MarketoRecord[];
  moreResult?: boolean;
  nextPageToken?: string;
}

const QUERY_PARAMS = ['filterType', 'filterValues', 'fields', 'batchSize', 'nextPageToken', '_method'];

/** A query string (or form body) as a read request; strict: an undocumented parameter is 1003. */
export function readRequestFromParams(params: URLSearchParams): ReadRequest {
  for (const name of params.keys())
    if (!QUERY_PARAMS.includes(name))
      throw new MarketoCallError('1003', `Invalid data: unknown parameter '${name}'`);
  const list = (name: string): string[] | undefined =>
    params
      .get(name)
      ?.split(',')
      .map((value) => value.trim());
  return {
    filterType: params.get('filterType') ?? undefined,
    filterValues: list('filterValues'),
    fields: list('fields'),
    batchSize: params.get('batchSize') ?? undefined,
    nextPageToken: params.get('nextPageToken') ?? undefined,
  };
}

export function readRequestFromJson(body: unknown): ReadRequest {
  if (!isPlainObject(body))
    throw new MarketoCallError('1003', 'Invalid data: the body must be a JSON object');
  for (const name of Object.keys(body))
    if (!['filterType', 'fields', 'input', 'batchSize', 'nextPageToken'].includes(name))
      throw new MarketoCallError('1003', `Invalid data: unknown request member '${name}'`);
  return { ...body };
}

function pageOf(request: ReadRequest): { offset: number; size: number } {
  const size = request.batchSize === undefined ? MAX_BATCH : Number(request.batchSize);
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH)
    throw new MarketoCallError('1003', `Invalid data: batchSize must be 1 to ${MAX_BATCH}`);
  if (request.nextPageToken === undefined) return { offset: 0, size };
  const offset = Number(
    Buffer.from(keyText(request.nextPageToken), 'base64url').toString('utf8').replace(/^o:/, ''),
  );
  if (!Number.isInteger(offset) || offset < 0)
    throw new MarketoCallError('1003', 'Invalid data: nextPageToken');
  return { offset, size };
}

function fieldsOf(schema: ObjectSchema, request: ReadRequest, defaults: string[]): string[] {
  if (request.fields === undefined) return defaults;
  if (!Array.isArray(request.fields) || request.fields.some((name) => typeof name !== 'string'))
    throw new MarketoCallError('1003', 'Invalid data: fields must be a list of field names');
  const fields = request.fields as string[];
  // Strict: names are case-sensitive, so the docs' `marketoGuid` is not `marketoGUID`.
  for (const name of fields)
    if (!fieldOf(schema, name)) throw new MarketoCallError('1006', `Field '${name}' not found`);
  return fields;
}

function paged(
  matches: MarketoRecord[],
  request: ReadRequest,
  shape: (record: MarketoRecord, i: number) => MarketoRecord,
): ReadAnswer {
  const { offset, size } = pageOf(request);
  const result = matches.slice(offset, offset + size).map(shape);
  if (offset + size >= matches.length) return { result };
  return { result, moreResult: true, nextPageToken: Buffer.from(`o:${offset + size}`).toString('base64url') };
}

const pick = (record: MarketoRecord, fields: string[]): MarketoRecord =>
  Object.fromEntries(fields.map((name) => [name, record[name] ?? null]));

/** The key fields a filterType names; it must be one of the describe's searchableFields. */
function filterFields(schema: ObjectSchema, filterType: unknown): string[] {
  if (typeof filterType !== 'string' || filterType === '')
    throw new MarketoCallError('701', 'filterType cannot be blank');
  const fields =
    filterType === 'idField'
      ? [schema.idField]
      : filterType === 'dedupeFields'
        ? schema.dedupeFields
        : [filterType];
  if (fields.length === 1 && !fieldOf(schema, filterType) && fields[0] === filterType)
    throw new MarketoCallError('1006', `Field '${filterType}' not found`);
  const searchable = schema.searchableFields.some(
    (set) => set.length === fields.length && set.every((name, i) => name === fields[i]),
  );
  if (!searchable) throw new MarketoCallError('1011', `Field '${filterType}' not supported`);
  return fields;
}

function keysOf(request: ReadRequest, fields: string[]): Record<string, unknown>[] {
  let keys: Record<string, unknown>[];
  if (request.input !== undefined) {
    if (!Array.isArray(request.input) || request.input.length === 0)
      throw new MarketoCallError('701', 'input cannot be blank');
    keys = request.input.map((key: unknown) => {
      if (!isPlainObject(key) || fields.some((name) => key[name] === undefined || key[name] === null))
        throw new MarketoCallError('1003', `Invalid data: each input must give ${fields.join(', ')}`);
      return key;
    });
  } else {
    if (!request.filterValues?.some((value) => value !== ''))
      throw new MarketoCallError('701', 'filterValues cannot be blank');
    if (fields.length > 1)
      throw new MarketoCallError(
        '1003',
        'Invalid data: a compound key is queried with POST ?_method=GET and a JSON input',
      );
    const field = fields[0] as string;
    keys = request.filterValues.map((value) => ({ [field]: value }));
  }
  if (keys.length > MAX_BATCH)
    throw new MarketoCallError('1003', `Invalid data: at most ${MAX_BATCH} filter values`);
  return keys;
}

function matching(
  store: MarketoStore,
  object: MarketoObject,
  fields: string[],
  keys: Record<string, unknown>[],
) {
  const seen = new Set<unknown>();
  const idField = store.schema(object).idField;
  const matches: MarketoRecord[] = [];
  for (const key of keys)
    for (const record of store.findBy(object, fields[0] as string, key[fields[0] as string]))
      if (
        fields.every((name) => keyText(record[name]) === keyText(key[name])) &&
        !seen.has(record[idField])
      ) {
        seen.add(record[idField]);
        matches.push(record);
      }
  return matches;
}

export function queryObjects(
  store: MarketoStore,
  object: Exclude<MarketoObject, 'lead'>,
  request: ReadRequest,
): ReadAnswer {
  const schema = store.schema(object);
  const fields = filterFields(schema, request.filterType);
  const keys = keysOf(request, fields);
  const shown = fieldsOf(schema, request, [schema.idField, ...schema.dedupeFields, 'updatedAt', 'createdAt']);
  return paged(matching(store, object, fields, keys), request, (record, seq) => ({
    seq,
    ...pick(record, shown),
  }));
}

/** A lead as reads show it: a linked lead shows its company's values (COMP). */
function leadView(store: MarketoStore, lead: MarketoRecord): MarketoRecord {
  const company = store.findBy('company', 'externalCompanyId', lead.externalCompanyId)[0];
  if (!company) return lead;
  const inherited = Object.fromEntries(
    COMPANY_LEVEL_LEAD_FIELDS.filter((name) => name in company).map((name) => [name, company[name]]),
  );
  return { ...lead, ...inherited };
}

export function queryLeads(store: MarketoStore, request: ReadRequest): ReadAnswer {
  const schema = store.schema('lead');
  const field = leadKeyField(schema, request.filterType, 'filterType');
  const keys = keysOf({ ...request, input: undefined }, [field]);
  const shown = fieldsOf(schema, request, ['id', 'email', 'updatedAt', 'createdAt', 'firstName', 'lastName']);
  const matches = matching(store, 'lead', [field], keys);
  if (matches.length > MAX_LEAD_MATCHES)
    throw new MarketoCallError('1003', 'Too many results match the filter');
  return paged(matches, request, (record) => pick(leadView(store, record), shown));
}

export function leadById(store: MarketoStore, id: string, request: ReadRequest): ReadAnswer {
  const shown = fieldsOf(store.schema('lead'), request, [
    'id',
    'email',
    'updatedAt',
    'createdAt',
    'firstName',
    'lastName',
  ]);
  const lead = store.get('lead', Number(id));
  return { result: lead ? [pick(leadView(store, lead), shown)] : [] };
}
