/**
 * Whether a string is a GUID in the one form ids are stored and compared in: lower-case 8-4-4-4-12 hex, no braces.
 *
 * Dynamics sends every id in this form, and a page asks this of each of them several times (a 5,000-opportunity
 * page has some 50,000 ids between its opportunities, connections, contacts and accounts). A loop over a class
 * table takes about half the time of the equivalent anchored regular expression's `test`.
 */

/** Per character code below 256: 1 for a lower-case hex digit, 2 for the hyphen, 0 for anything else. */
const CHARACTER_CLASS = new Uint8Array(256);
for (const digit of '0123456789abcdef') CHARACTER_CLASS[digit.charCodeAt(0)] = 1;
CHARACTER_CLASS['-'.charCodeAt(0)] = 2;

/** Where a canonical GUID's four hyphens are: after its 8th, 12th, 16th and 20th hex digit. */
export const GUID_HYPHEN_POSITIONS: readonly number[] = [8, 13, 18, 23];

/** The class each of the 36 positions must hold. */
const SHAPE = new Uint8Array(36).fill(1);
for (const hyphen of GUID_HYPHEN_POSITIONS) SHAPE[hyphen] = 2;

export function isCanonicalGuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const code = value.charCodeAt(i);
    // Checked first: reading a typed array past its end would make this loop slower for every call.
    if (code > 255 || CHARACTER_CLASS[code] !== SHAPE[i]) return false;
  }
  return true;
}
