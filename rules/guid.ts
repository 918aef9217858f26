/** The form Dynamics sends ids in, and the one stored and compared. */
const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** 8-4-4-4-12 hex, optional braces → lower-case without braces; undefined when it is not a GUID. */
export function normalizeGuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // The form Dynamics sends ids in needs no change: the fast path for every id of a page.
  if (CANONICAL_GUID.test(value)) return value;
  const trimmed = value.trim();
  const match = GUID.exec(trimmed);
  if (!match?.[1] || trimmed.startsWith('{') !== trimmed.endsWith('}')) return undefined;
  return match[1].toLowerCase();
}
