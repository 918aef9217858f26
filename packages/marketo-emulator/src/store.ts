/** The instance's records in memory, with value indexes for the fields that keys and references use. */
import { randomUUID } from 'node:crypto';
import type { ObjectSchema, Schemas } from './schema';
import type { MarketoObject, MarketoRecord } from './types';
import { timestamp, keyText } from './values';

const OBJECTS: MarketoObject[] = ['company', 'lead', 'opportunity', 'role'];

type Index = Map<string, Set<string>>;

export class MarketoStore {
  private readonly tables = new Map<MarketoObject, Map<string, MarketoRecord>>();
  /** object → field → value (as text) → record ids. */
  private readonly indexes = new Map<MarketoObject, Map<string, Index>>();
  private nextId = { company: 1, lead: 1 };

  constructor(readonly schemas: Schemas) {
    for (const object of OBJECTS) {
      this.tables.set(object, new Map());
      const fields = new Set<string>(schemas[object].dedupeFields);
      for (const reference of schemas[object].references) fields.add(reference.field);
      // Leads are looked up by any custom string/email/integer field (lookupField, filterType).
      if (object === 'lead')
        for (const field of schemas.lead.fields) if (field.custom) fields.add(field.name);
      this.indexes.set(
        object,
        new Map([...fields].map((field): [string, Index] => [field, new Map<string, Set<string>>()])),
      );
    }
  }

  schema(object: MarketoObject): ObjectSchema {
    return this.schemas[object];
  }

  private table(object: MarketoObject): Map<string, MarketoRecord> {
    return this.tables.get(object) as Map<string, MarketoRecord>;
  }

  /** Copies, in order of creation. */
  all(object: MarketoObject): MarketoRecord[] {
    return [...this.table(object).values()].map((record) => ({ ...record }));
  }

  /** Live records, in order of creation (for reads that filter; never handed out). */
  scan(object: MarketoObject): IterableIterator<MarketoRecord> {
    return this.table(object).values();
  }

  get(object: MarketoObject, id: unknown): MarketoRecord | undefined {
    return id === null || id === undefined ? undefined : this.table(object).get(keyText(id));
  }

  /** Records whose `field` equals `value` (compared as text, so 5 and "5" match). */
  findBy(object: MarketoObject, field: string, value: unknown): MarketoRecord[] {
    if (value === null || value === undefined) return [];
    const schema = this.schema(object);
    if (field === schema.idField) {
      const record = this.get(object, value);
      return record ? [record] : [];
    }
    const index = this.indexes.get(object)?.get(field);
    if (index)
      return [...(index.get(keyText(value)) ?? [])].map((id) => this.get(object, id) as MarketoRecord);
    return [...this.scan(object)].filter(
      (record) => record[field] !== null && keyText(record[field]) === keyText(value),
    );
  }

  /** The record with these values in every one of `fields` (a dedupe key, possibly compound). */
  findByKey(
    object: MarketoObject,
    fields: string[],
    values: Record<string, unknown>,
  ): MarketoRecord | undefined {
    const [first, ...rest] = fields;
    if (first === undefined) return undefined;
    return this.findBy(object, first, values[first]).find((record) =>
      rest.every((field) => keyText(record[field]) === keyText(values[field])),
    );
  }

  insert(object: MarketoObject, values: MarketoRecord, now = Date.now()): MarketoRecord {
    const schema = this.schema(object);
    const id = object === 'company' || object === 'lead' ? this.nextId[object]++ : randomUUID();
    const record: MarketoRecord = {
      [schema.idField]: id,
      ...values,
      createdAt: timestamp(now),
      updatedAt: timestamp(now),
    };
    this.table(object).set(keyText(id), record);
    this.reindex(object, record, undefined);
    return record;
  }

  /** Applies `changes`; `updatedAt` moves only when a value changed. Returns whether one did. */
  update(object: MarketoObject, record: MarketoRecord, changes: MarketoRecord, now = Date.now()): boolean {
    const before = { ...record };
    let changed = false;
    for (const [field, value] of Object.entries(changes)) {
      if (!(field in record) || record[field] !== value) changed = true;
      record[field] = value;
    }
    if (changed) record.updatedAt = timestamp(now);
    this.reindex(object, record, before);
    return changed;
  }

  remove(object: MarketoObject, record: MarketoRecord): void {
    const id = keyText(record[this.schema(object).idField]);
    this.table(object).delete(id);
    this.reindex(object, undefined, record);
  }

  clear(): void {
    for (const object of OBJECTS) {
      this.table(object).clear();
      for (const index of this.indexes.get(object)?.values() ?? []) index.clear();
    }
    this.nextId = { company: 1, lead: 1 };
  }

  private reindex(
    object: MarketoObject,
    after: MarketoRecord | undefined,
    before: MarketoRecord | undefined,
  ): void {
    const idField = this.schema(object).idField;
    for (const [field, index] of this.indexes.get(object) ?? []) {
      const old = before?.[field];
      const now = after?.[field];
      if (before && old !== null && old !== undefined && (!after || old !== now))
        index.get(keyText(old))?.delete(keyText(before[idField]));
      if (after && now !== null && now !== undefined) {
        const ids = index.get(keyText(now)) ?? new Set<string>();
        ids.add(keyText(after[idField]));
        index.set(keyText(now), ids);
      }
    }
  }
}
