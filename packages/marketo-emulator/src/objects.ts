/**
 * Sync and Delete for companies, opportunities and opportunity roles (LDB §5.0): one result per input record,
 * in input order, each with its `seq`; a failed record is `skipped` with reasons and the rest of the call stands.
 */
import { MarketoCallError, reasons, skipped } from './envelope';
import type { FaultState } from './faults';
import { changedKeyField, checkFields, choice, inputOf, isPlainObject, missingReference } from './input';
import { fieldOf, type ObjectSchema } from './schema';
import type { MarketoStore } from './store';
import type { MarketoObject, MarketoRecord, SkipReason } from './types';
import { checkValue, keyText } from './values';

export interface WriteContext {
  store: MarketoStore;
  faults: FaultState;
}

export type CrmObject = 'company' | 'opportunity' | 'role';

type Outcome = Record<string, unknown>;

/** The record's key as text, or the 1002 reason naming the first key field without a value. */
export function keyOf(
  raw: Record<string, unknown>,
  fields: string[],
): { key: string } | { reason: SkipReason } {
  for (const field of fields) {
    const value = raw[field];
    if (value === undefined || value === null || value === '') return { reason: reasons.missing(field) };
  }
  return { key: fields.map((field) => keyText(raw[field])).join('\u0000') };
}

/** Records of other objects that reference this one (strict: a referenced record is not deleted, 1022). */
export function dependents(
  store: MarketoStore,
  object: MarketoObject,
  record: MarketoRecord,
): string | undefined {
  for (const other of Object.values(store.schemas))
    for (const reference of other.references)
      if (
        reference.object === object &&
        store.findBy(other.object, reference.field, record[reference.by]).length > 0
      )
        return `${other.pluralName.toLowerCase()} reference it`;
  return undefined;
}

export function exists(store: MarketoStore): (object: MarketoObject, by: string, value: unknown) => boolean {
  return (object, by, value) => store.findBy(object, by, value).length > 0;
}

/** Checks common to every write record: CRM sync, shape, the test's skip predicate. */
export function precheck(
  ctx: WriteContext,
  object: MarketoObject,
  raw: unknown,
  crm: boolean,
): SkipReason | undefined {
  if (crm && ctx.faults.nativeCrmSync) return reasons.crmEnabled();
  if (!isPlainObject(raw)) return reasons.invalid('each input record must be a JSON object');
  return ctx.faults.skip.get(object)?.(raw);
}

function syncOne(
  ctx: WriteContext,
  schema: ObjectSchema,
  raw: Record<string, unknown>,
  keyFields: string[],
  action: string,
): Outcome | SkipReason {
  const checked = checkFields(schema, raw, keyFields[0] === schema.idField ? schema.idField : undefined);
  if ('reason' in checked) return checked.reason;
  const values = checked.values;
  const existing =
    keyFields[0] === schema.idField
      ? ctx.store.get(schema.object, values[schema.idField])
      : ctx.store.findByKey(schema.object, keyFields, values);
  if (existing && action === 'createOnly') return reasons.exists();
  if (!existing && action === 'updateOnly') return reasons.notFound();
  if (existing) {
    const changed = changedKeyField(schema, existing, values);
    if (changed) return reasons.invalid(`'${changed}' is not updateable`);
  }
  for (const field of schema.required)
    if (values[field] === null || (!existing && values[field] === undefined)) return reasons.missing(field);
  const missing = missingReference(schema, values, exists(ctx.store));
  if (missing) return missing;
  delete values[schema.idField];
  if (existing) {
    ctx.store.update(schema.object, existing, values);
    return { [schema.idField]: existing[schema.idField], status: 'updated' };
  }
  const created = ctx.store.insert(schema.object, values);
  return { [schema.idField]: created[schema.idField], status: 'created' };
}

/**
 * Each record on its own, results in input order with `seq`: a record that fails its checks, lacks its key or
 * repeats an earlier record's key (1036) is skipped, and the others still apply.
 */
function eachRecord(
  ctx: WriteContext,
  object: CrmObject,
  input: unknown[],
  keyFields: string[],
  apply: (record: Record<string, unknown>) => Outcome | SkipReason,
): Outcome[] {
  const seen = new Set<string>();
  return input.map((raw, seq) => {
    const refused = precheck(ctx, object, raw, true);
    if (refused) return skipped(refused, { seq });
    const record = raw as Record<string, unknown>;
    const key = keyOf(record, keyFields);
    if ('reason' in key) return skipped(key.reason, { seq });
    if (seen.has(key.key)) return skipped(reasons.duplicate(), { seq });
    seen.add(key.key);
    const outcome = apply(record);
    return 'code' in outcome ? skipped(outcome as SkipReason, { seq }) : { seq, ...outcome };
  });
}

export function syncObjects(ctx: WriteContext, object: CrmObject, body: unknown): Outcome[] {
  const schema = ctx.store.schema(object);
  const input = inputOf(body, ['action', 'dedupeBy']);
  const members = body as Record<string, unknown>;
  const action = choice(members, 'action', ['createOrUpdate', 'createOnly', 'updateOnly'], 'createOrUpdate');
  const dedupeBy = choice(members, 'dedupeBy', ['dedupeFields', 'idField'], 'dedupeFields');
  // OPP: dedupeBy is valid only with updateOnly; LDB: idField is incompatible with createOnly. Strict: both.
  if (dedupeBy === 'idField' && action !== 'updateOnly')
    throw new MarketoCallError('1003', 'Invalid data: dedupeBy idField is valid only with action updateOnly');
  const keyFields = dedupeBy === 'idField' ? [schema.idField] : schema.dedupeFields;
  return eachRecord(ctx, object, input, keyFields, (record) =>
    syncOne(ctx, schema, record, keyFields, action),
  );
}

function deleteOne(
  ctx: WriteContext,
  schema: ObjectSchema,
  raw: Record<string, unknown>,
  keyFields: string[],
) {
  // S-MAPI: a delete record holds only the members of its key.
  for (const name of Object.keys(raw))
    if (!keyFields.includes(name))
      return fieldOf(schema, name)
        ? reasons.invalid(`a delete record holds only ${keyFields.join(', ')}`)
        : reasons.fieldNotFound(name);
  for (const name of keyFields) {
    const checked = checkValue(
      fieldOf(schema, name) ?? { name, displayName: name, dataType: 'string', updateable: false },
      raw[name],
    );
    if (!checked.ok) return checked.reason;
  }
  const existing =
    keyFields[0] === schema.idField
      ? ctx.store.get(schema.object, raw[schema.idField])
      : ctx.store.findByKey(schema.object, keyFields, raw);
  if (!existing) return reasons.notFound();
  const inUse = dependents(ctx.store, schema.object, existing);
  if (inUse) return reasons.inUse(inUse);
  ctx.store.remove(schema.object, existing);
  return { [schema.idField]: existing[schema.idField], status: 'deleted' };
}

export function deleteObjects(ctx: WriteContext, object: CrmObject, body: unknown): Outcome[] {
  const schema = ctx.store.schema(object);
  const input = inputOf(body, ['deleteBy']);
  // LDB calls deleteBy required; COMP/OPP/ROLE give a default. Strict: required.
  const deleteBy = choice(
    body as Record<string, unknown>,
    'deleteBy',
    ['dedupeFields', 'idField'],
    undefined,
  );
  const keyFields = deleteBy === 'idField' ? [schema.idField] : schema.dedupeFields;
  return eachRecord(ctx, object, input, keyFields, (record) => deleteOne(ctx, schema, record, keyFields));
}
