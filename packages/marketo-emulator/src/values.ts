/**
 * Field values checked against their describe type (FT). Strict: strings must be JSON strings, booleans JSON
 * booleans; numbers may be JSON numbers or numeric strings (the docs' examples send `"1604.47"`).
 */
import { reasons } from './envelope';
import type { FieldDef } from './schema';
import type { SkipReason } from './types';

export type Checked = { ok: true; value: unknown } | { ok: false; reason: SkipReason };

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// FT: ISO 8601 with a time-zone offset, or a capital Z (PAGE); seconds and fractions optional.
const DATETIME =
  /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;
// Email: ASCII only (LEADS), one @, no spaces.
const EMAIL = /^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+\.[\x21-\x3f\x41-\x7e]+$/;
// URL must include the protocol (FT).
const URL_WITH_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/\S+$/;

function isValidDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function asNumber(value: unknown, integer: boolean): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) return undefined;
    return value;
  }
  if (typeof value === 'string' && (integer ? INTEGER : NUMERIC).test(value.trim())) {
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

function asText(value: unknown, field: FieldDef, pattern?: RegExp): Checked {
  if (typeof value !== 'string' || (pattern && !pattern.test(value)))
    return { ok: false, reason: reasons.invalidValue(value, field.dataType) };
  // Strict: length in UTF-16 code units, which is never less than the number of characters.
  if (field.length !== undefined && value.length > field.length)
    return {
      ok: false,
      reason: reasons.invalid(
        `'${field.name}' is ${value.length} characters long, the maximum is ${field.length}`,
      ),
    };
  return { ok: true, value };
}

/** Checks one input value; null and "" are stored as null (LDB). */
export function checkValue(field: FieldDef, value: unknown): Checked {
  if (value === null || value === '') return { ok: true, value: null };
  switch (field.dataType) {
    case 'string':
    case 'text':
    case 'phone':
      return asText(value, field);
    case 'email':
      return asText(value, field, EMAIL);
    case 'url':
      return asText(value, field, URL_WITH_SCHEME);
    case 'integer':
    case 'percent':
    case 'score': {
      const number = asNumber(value, true);
      return number === undefined
        ? { ok: false, reason: reasons.invalidValue(value, field.dataType) }
        : { ok: true, value: number };
    }
    case 'currency':
    case 'float': {
      const number = asNumber(value, false);
      return number === undefined
        ? { ok: false, reason: reasons.invalidValue(value, field.dataType) }
        : { ok: true, value: number };
    }
    case 'boolean':
      return typeof value === 'boolean'
        ? { ok: true, value }
        : { ok: false, reason: reasons.invalidValue(value, 'boolean') };
    case 'date':
      return typeof value === 'string' && isValidDate(value)
        ? { ok: true, value }
        : { ok: false, reason: reasons.invalidValue(value, 'date') };
    case 'datetime': {
      const match = typeof value === 'string' ? DATETIME.exec(value) : null;
      return match?.[1] && isValidDate(match[1])
        ? { ok: true, value }
        : { ok: false, reason: reasons.invalidValue(value, 'datetime') };
    }
    default:
      return asText(value, field);
  }
}

/** Marketo's timestamp form, e.g. `2016-05-17T22:11:45Z`. */
export function timestamp(now: number = Date.now()): string {
  return new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A value as text for keys and comparisons (query values arrive as text, so 5 and "5" are one key). */
export function keyText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}
