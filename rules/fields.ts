import { normalizeGuid } from './guid';
import type { RawRecord, SyncErrorEntity, SyncErrorRow } from './types';
import { TEXT_LIMITS, truncate } from './text';

export const FORMATTED = '@OData.Community.Display.V1.FormattedValue';
export const LOOKUP_TYPE = '@Microsoft.Dynamics.CRM.lookuplogicalname';

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

/** The number written by `length` decimal digits at `at`, or -1 when one of them is not a digit. */
function digitsAt(text: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    // NaN past the end of the text fails this too.
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Whether `text` starts with a real calendar date 'YYYY-MM-DD' of a year from 100 on: the date part every
 * date and timestamp of a page has. Years below 100 are left to the general path, which reads them as
 * Date.UTC does.
 */
function startsWithPlainDate(text: string): boolean {
  if (text.charCodeAt(4) !== 45 /* - */ || text.charCodeAt(7) !== 45) return false;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  return year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * Whether `text` is already what readTimestamp returns: 'YYYY-MM-DDTHH:mm:ssZ' with every part in range.
 * Dataverse sends timestamps in this form, so the general path (a regular expression, a parse and a format,
 * about 2 µs) is left for the others.
 */
function isCanonicalTimestamp(text: string): boolean {
  if (text.length !== 20 || text.charCodeAt(10) !== 84 /* T */ || text.charCodeAt(19) !== 90 /* Z */)
    return false;
  if (text.charCodeAt(13) !== 58 /* : */ || text.charCodeAt(16) !== 58) return false;
  const hours = digitsAt(text, 11, 2);
  const minutes = digitsAt(text, 14, 2);
  const seconds = digitsAt(text, 17, 2);
  return (
    hours >= 0 &&
    hours <= 23 &&
    minutes >= 0 &&
    minutes <= 59 &&
    seconds >= 0 &&
    seconds <= 59 &&
    startsWithPlainDate(text)
  );
}

/** Date-only columns: 'YYYY-MM-DD' (the date part of whatever Dataverse sends). */
export function readDate(raw: RawRecord, key: string): string | null {
  const value = raw[key];
  if (isAbsent(value)) return null;
  // 'YYYY-MM-DD' alone or followed by a time ('T'): its date part is the answer once it is a real date.
  const dateOnly = typeof value === 'string' && value.length === 10;
  if (typeof value === 'string' && (dateOnly || value.charCodeAt(10) === 84) && startsWithPlainDate(value))
    return dateOnly ? value : value.slice(0, 10);
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  if (!match) throw new BadFieldError(`${key} is not a date`);
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const check = new Date(Date.UTC(y, m - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new BadFieldError(`${key} is not a date`);
  }
  return match[0].slice(0, 10);
}

// A timestamp without a zone would be read in the machine's local time: refuse it rather than guess.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Timestamps normalised to 'YYYY-MM-DDTHH:mm:ssZ' in UTC (Dataverse keeps whole seconds). */
export function readTimestamp(raw: RawRecord, key: string): string | null {
  const value = raw[key];
  if (isAbsent(value)) return null;
  if (typeof value === 'string' && isCanonicalTimestamp(value)) return value;
  const millis = typeof value === 'string' && TIMESTAMP.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(millis)) throw new BadFieldError(`${key} is not an ISO-8601 timestamp`);
  return new Date(millis).toISOString().slice(0, 19) + 'Z';
}

export function readKey(raw: RawRecord, key: string): string {
  const value = raw[key];
  if (isAbsent(value) || value === '') throw new BadFieldError(`${key} is missing`);
  const id = normalizeGuid(value);
  if (!id) throw new BadFieldError(`${key} is not a GUID`);
  return id;
}

/** A lookup's two property names, built once per lookup name rather than twice per row read. */
const lookupKeys = new Map<string, { value: string; type: string }>();

/** The properties a lookup column `name` is read from: `_name_value` and its lookuplogicalname annotation. */
export function lookupKeysOf(name: string): { value: string; type: string } {
  let keys = lookupKeys.get(name);
  if (keys === undefined) {
    keys = { value: `_${name}_value`, type: `_${name}_value${LOOKUP_TYPE}` };
    // Lookup names come from the code and the configured columns: a handful, but never let it grow unbounded.
    if (lookupKeys.size >= 1_000) lookupKeys.clear();
    lookupKeys.set(name, keys);
  }
  return keys;
}

/** A lookup column `name` read from `_name_value` and its lookuplogicalname annotation. */
export function readLookup(raw: RawRecord, name: string): Lookup | null {
  const keys = lookupKeysOf(name);
  const value = raw[keys.value];
  if (isAbsent(value)) return null;
  const id = normalizeGuid(value);
  if (!id) throw new BadFieldError(`${keys.value} is not a GUID`);
  const type = raw[keys.type];
  return { id, type: typeof type === 'string' ? type : undefined };
}

export function formattedValue(raw: RawRecord, key: string): string | undefined {
  const value = raw[key + FORMATTED];
  return typeof value === 'string' ? value : undefined;
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
    normalizeGuid(value) ??
    truncate(typeof value === 'string' ? value : JSON.stringify(value), TEXT_LIMITS.short)
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
