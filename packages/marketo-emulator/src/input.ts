/** The request-level members of write calls, and each input record's fields, checked strictly. */
import { MarketoCallError, reasons } from './envelope';
import { fieldOf, type ObjectSchema } from './schema';
import type { MarketoRecord, SkipReason } from './types';
import { checkValue, keyText } from './values';

export const MAX_RECORDS = 300;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The body's `input` array. Strict: a member the endpoint does not document is refused (1003) rather than
 * ignored, so a misspelt `dedupeBy` cannot silently fall back to the default.
 */
export function inputOf(body: unknown, allowed: readonly string[]): unknown[] {
  if (!isPlainObject(body))
    throw new MarketoCallError('1003', 'Invalid data: the body must be a JSON object');
  for (const member of Object.keys(body))
    if (member !== 'input' && !allowed.includes(member))
      throw new MarketoCallError('1003', `Invalid data: unknown request member '${member}'`);
  const input = body.input;
  if (!Array.isArray(input) || input.length === 0) throw new MarketoCallError('701', 'input cannot be blank');
  if (input.length > MAX_RECORDS)
    throw new MarketoCallError(
      '1003',
      `Invalid data: ${input.length} records in input, the maximum is ${MAX_RECORDS} per call`,
    );
  return input;
}

/** An enumerated request member (action, dedupeBy, deleteBy); a value outside the list is 1003. */
export function choice<T extends string>(
  body: Record<string, unknown>,
  member: string,
  values: readonly T[],
  fallback: T | undefined,
): T {
  const value = body[member];
  if (value === undefined) {
    if (fallback === undefined) throw new MarketoCallError('701', `${member} cannot be blank`);
    return fallback;
  }
  if (typeof value !== 'string' || !values.includes(value as T))
    throw new MarketoCallError('1003', `Invalid data: ${member} must be one of ${values.join(', ')}`);
  return value as T;
}

/**
 * One record's fields: unknown names are 1006 (names are case-sensitive), values Marketo sets are 1003, and
 * each value is checked against its type. `keyField` names the system field allowed as an update key.
 */
export function checkFields(
  schema: ObjectSchema,
  raw: Record<string, unknown>,
  keyField?: string,
): { values: MarketoRecord } | { reason: SkipReason } {
  const values: MarketoRecord = {};
  for (const [name, value] of Object.entries(raw)) {
    const field = fieldOf(schema, name);
    if (!field) return { reason: reasons.fieldNotFound(name) };
    if (field.system && name !== keyField) return { reason: reasons.invalid(`'${name}' is set by Marketo`) };
    const checked = checkValue(field, value);
    if (!checked.ok) return { reason: checked.reason };
    values[name] = checked.value;
  }
  return { values };
}

/** Non-updateable fields whose value an update would change (strict: refused, 1003). */
export function changedKeyField(
  schema: ObjectSchema,
  existing: MarketoRecord,
  values: MarketoRecord,
): string | undefined {
  return schema.fields.find(
    (field) =>
      !field.updateable &&
      !field.system &&
      field.name in values &&
      keyText(values[field.name]) !== keyText(existing[field.name]),
  )?.name;
}

/** The first reference naming no record, as a 1013 reason. */
export function missingReference(
  schema: ObjectSchema,
  values: MarketoRecord,
  exists: (object: ObjectSchema['object'], by: string, value: unknown) => boolean,
): SkipReason | undefined {
  for (const reference of schema.references) {
    const value = values[reference.field];
    if (value === null || value === undefined) continue;
    if (!exists(reference.object, reference.by, value))
      return reasons.notFound(`${reference.object} with ${reference.by} '${keyText(value)}' not found`);
  }
  return undefined;
}
