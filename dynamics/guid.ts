import { DynamicsError } from './errors';

/** The form Dynamics sends ids in, and the one stored and compared. */
const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GUID = /^(\{)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\})?$/i;

/** A GUID in 8-4-4-4-12 hex form, optionally wrapped in a matching pair of braces. */
export function isGuid(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  // The form Dynamics sends ids in, and the one stored: checked for every id of every page, without a regular
  // expression (no match array, and about half the time of one).
  if (CANONICAL_GUID.test(value)) return true;
  const match = GUID.exec(value);
  return match !== null && (match[1] === undefined) === (match[2] === undefined);
}

/** The GUID lower-cased without braces, the one form stored and compared; throws INVALID_ID otherwise. */
export function normaliseGuid(value: string): string {
  if (CANONICAL_GUID.test(value)) return value;
  if (!isGuid(value)) throw new DynamicsError('INVALID_ID', `Not a GUID: ${describeValue(value)}`);
  return value.replace(/[{}]/g, '').toLowerCase();
}

/** A short, printable rendering of a rejected value for an error message. */
export function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
