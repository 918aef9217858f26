import { formattedValue, readCode } from './fields';
import type { RawRecord } from './types';

/**
 * SPEC section 3 labels. The fixed tables win over FormattedValue annotations, which follow the
 * Dataverse user's language, so the store reads the same whatever locale the org runs in.
 */
export const STAGE_LABELS: Readonly<Record<number, string>> = { 0: 'Open', 1: 'Won', 2: 'Lost' };
export const STATUS_LABELS: Readonly<Record<number, string>> = {
  1: 'In Progress',
  2: 'On Hold',
  3: 'Won',
  4: 'Canceled',
  5: 'Out-Sold',
};
export const SALES_STAGE_LABELS: Readonly<Record<number, string>> = {
  0: 'Qualify',
  1: 'Develop',
  2: 'Propose',
  3: 'Close',
};

/** The label of an option-set column: the table's, else the FormattedValue, else the code as text. */
export function optionLabel(
  raw: RawRecord,
  key: string,
  table: Readonly<Record<number, string>>,
): string | null {
  const code = readCode(raw, key);
  if (code === null) return null;
  return table[code] ?? formattedValue(raw, key) ?? String(code);
}
