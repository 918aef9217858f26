import { lookupLogicalName, lookupProperty, toGuid, type RawRecord } from '../dynamics';
import type { SyncErrorEntity, SyncErrorRow } from './types';
import { TEXT_LIMITS, truncate } from './text';

export { formattedValue } from '../dynamics';

/** Thrown inside the mappers only; the public functions turn it into a SyncErrorRow. */
export class BadFieldError extends Error {
  override readonly name = 'BadFieldError';
}

export interface Lookup {
  id: string;
  /** The lookuplogicalname annotation ('account', 'contact', …), when Dataverse sent it. */
  type: string | undefined;
}

function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

export function readText(raw: RawRecord, key: string, limit: number = TEXT_LIMITS.short): string | null {
  const value = raw[key];
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return truncate(value, limit);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new BadFieldError(`${key} is not text`);
}

const NUMERIC = /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/;

export function readNumber(raw: RawRecord, key: string): number | null {
  const value = raw[key];
  if (isAbsent(value)) return null;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  // Decimal columns can arrive as strings from some serialisers; anything else numeric-looking is refused.
  if (typeof value === 'string' && NUMERIC.test(value)) return Number(value);
  throw new BadFieldError(`${key} is not a number`);
}

export function readCode(raw: RawRecord, key: string): number | null {
  const value = readNumber(raw, key);
  if (value !== null && !Number.isInteger(value)) throw new BadFieldError(`${key} is not an option code`);
  return value;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/;

/** Date-only columns: 'YYYY-MM-DD' (the date part of whatever Dataverse sends). */
export function readDate(raw: RawRecord, key: string): string | null {
  const value = raw[key];
  if (isAbsent(value)) return null;
  const date = typeof value === 'string' ? calendarDate(value) : undefined;
  if (date === undefined) throw new BadFieldError(`${key} is not a date`);
  return date;
}

/** The 'YYYY-MM-DD' that `text` starts with (alone or before a 'T'), when it is a real calendar date. */
function calendarDate(text: string): string | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const check = new Date(Date.UTC(y, m - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
    return undefined;
  return match[0].slice(0, 10);
}

// A timestamp without a zone would be read in the machine's local time: refuse it rather than guess.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Timestamps normalised to 'YYYY-MM-DDTHH:mm:ssZ' in UTC (Dataverse keeps whole seconds). */
export function readTimestamp(raw: RawRecord, key: string): string | null {
  const value = raw[key];
  if (isAbsent(value)) return null;
  // Date.parse would roll an impossible day (February 30th) over into the next month.
  const valid = typeof value === 'string' && TIMESTAMP.test(value) && calendarDate(value) !== undefined;
  const millis = valid ? Date.parse(value) : NaN;
  if (Number.isNaN(millis)) throw new BadFieldError(`${key} is not an ISO-8601 timestamp`);
  return new Date(millis).toISOString().slice(0, 19) + 'Z';
}

export function readKey(raw: RawRecord, key: string): string {
  const value = raw[key];
  if (isAbsent(value) || value === '') throw new BadFieldError(`${key} is missing`);
  const id = toGuid(value);
  if (!id) throw new BadFieldError(`${key} is not a GUID`);
  return id;
}

/** A lookup column `name` read from `_name_value` and the table it points to. */
export function readLookup(raw: RawRecord, name: string): Lookup | null {
  const property = lookupProperty(name);
  const value = raw[property];
  if (isAbsent(value)) return null;
  const id = toGuid(value);
  if (!id) throw new BadFieldError(`${property} is not a GUID`);
  return { id, type: lookupLogicalName(raw, property) };
}

function payloadOf(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? 'null';
  } catch {
    json = '"(payload not serialisable)"';
  }
  return truncate(json, TEXT_LIMITS.errorPayload);
}

/** The id to file an error under: the normalised key when readable, else the raw value as text. */
export function errorRecordId(raw: RawRecord, key: string): string {
  const value = raw[key];
  if (isAbsent(value) || value === '') return '(missing)';
  return (
    toGuid(value) ?? truncate(typeof value === 'string' ? value : JSON.stringify(value), TEXT_LIMITS.short)
  );
}

export function syncError(
  entity: SyncErrorEntity,
  recordId: string,
  error: string,
  payload: unknown,
): SyncErrorRow {
  return {
    entity,
    record_id: recordId,
    error: truncate(error, TEXT_LIMITS.short * 4),
    payload: payloadOf(payload),
  };
}

/** What `read` returns, or undefined when the field it reads is unreadable. */
export function readLookupSafe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
