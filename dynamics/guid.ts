import { DynamicsError } from './errors';

/** The form Dynamics sends ids in, and the one stored and compared. */
const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GUID = /^(\{)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\})?$/i;

/**
 * The one form ids are stored and compared in: 8-4-4-4-12 hex, lower-case, without braces (a matching pair of
 * braces and surrounding blanks are accepted); undefined when `value` is not a GUID.
 */
export function toGuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // The form Dynamics sends ids in needs no change: the path every id of a page takes.
  if (CANONICAL_GUID.test(value)) return value;
  const match = GUID.exec(value.trim());
  if (match === null || (match[1] === undefined) !== (match[3] === undefined)) return undefined;
  return (match[2] as string).toLowerCase();
}

/** A GUID in 8-4-4-4-12 hex form, optionally wrapped in a matching pair of braces. */
export function isGuid(value: unknown): value is string {
  return toGuid(value) !== undefined;
}

/** The GUID in its one stored form (see toGuid); throws INVALID_ID otherwise. */
export function normaliseGuid(value: string): string {
  const id = toGuid(value);
  if (id === undefined) throw new DynamicsError('INVALID_ID', `Not a GUID: ${describeValue(value)}`);
  return id;
}

/** A short, printable rendering of a rejected value for an error message. */
export function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
