const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** 8-4-4-4-12 hex, optional braces → lower-case without braces; undefined when it is not a GUID. */
export function normalizeGuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = GUID.exec(value.trim());
  if (!match?.[1] || value.trim().startsWith('{') !== value.trim().endsWith('}')) return undefined;
  return match[1].toLowerCase();
}
