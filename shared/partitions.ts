import type { KeyRange } from './sync-types';

/**
 * Splits the opportunityid key space into `count` consecutive ranges on the first hex digits. Whatever order a
 * server gives GUIDs, consecutive `lt`/`ge` ranges cover every id at least once, so no record can be missed; an id
 * seen twice is written twice, which upserts make harmless. Pure and deterministic: workflows call it.
 */
export function keyRanges(count: number): KeyRange[] {
  if (!Number.isInteger(count) || count < 1 || count > 64)
    throw new Error(`partitions must be 1 to 64, got ${count}`);
  const bounds: string[] = [];
  for (let i = 1; i < count; i += 1) {
    const prefix = Math.floor((i * 0x10000) / count)
      .toString(16)
      .padStart(4, '0');
    bounds.push(`${prefix}0000-0000-0000-0000-000000000000`);
  }
  return Array.from({ length: count }, (_, i) => ({ from: bounds[i - 1], to: bounds[i] }));
}

/** The OData filter of a key range, or undefined for the whole table. */
export function keyRangeFilter(key: string, range: KeyRange): string | undefined {
  const parts = [
    ...(range.from === undefined ? [] : [`${key} ge ${range.from}`]),
    ...(range.to === undefined ? [] : [`${key} lt ${range.to}`]),
  ];
  return parts.length === 0 ? undefined : parts.join(' and ');
}
