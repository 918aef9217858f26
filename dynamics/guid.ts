import { DynamicsError } from './errors';

const GUID = /^(\{)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\})?$/i;
/**
 * The form Dynamics sends ids in, and the one stored: such a value needs no change. `test` builds no match
 * array, and this is checked for every id of every page (a fifth of a page's garbage was match arrays).
 */
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A GUID in 8-4-4-4-12 hex form, optionally wrapped in a matching pair of braces. */
export function isGuid(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (CANONICAL.test(value)) return true;
  const match = GUID.exec(value);
  return match !== null && (match[1] === undefined) === (match[2] === undefined);
}

/** The GUID lower-cased without braces, the one form stored and compared; throws INVALID_ID otherwise. */
export function normaliseGuid(value: string): string {
  if (CANONICAL.test(value)) return value;
  if (!isGuid(value)) throw new DynamicsError('INVALID_ID', `Not a GUID: ${describeValue(value)}`);
  return value.replace(/[{}]/g, '').toLowerCase();
}

/** A short, printable rendering of a rejected value for an error message. */
export function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
