/**
 * isCanonicalGuid replaces an anchored regular expression on the path of every id of every page; it must answer
 * exactly as that expression does, for GUIDs and for every way a string can miss the form by one character.
 */
import { randomUUID } from 'node:crypto';
import { isCanonicalGuid } from '../shared/canonical-guid';

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('isCanonicalGuid', () => {
  it('accepts lower-case 8-4-4-4-12 GUIDs', () => {
    for (let i = 0; i < 1_000; i++) expect(isCanonicalGuid(randomUUID())).toBe(true);
    expect(isCanonicalGuid('00000000-0000-0000-0000-000000000000')).toBe(true);
    expect(isCanonicalGuid('ffffffff-ffff-ffff-ffff-ffffffffffff')).toBe(true);
  });

  it('answers as the regular expression for every one-character change at every position', () => {
    const guid = randomUUID();
    // Digits, both cases of hex and beyond, hyphen and its neighbours, braces, space, Latin-1 and wider characters.
    const replacements = [...'09afgAFG-,./{} \u00e9\u0100\u6771\ud83d'];
    let rejected = 0;
    for (let at = 0; at < guid.length; at++) {
      for (const character of replacements) {
        const changed = guid.slice(0, at) + character + guid.slice(at + 1);
        expect(isCanonicalGuid(changed)).toBe(CANONICAL.test(changed));
        if (!CANONICAL.test(changed)) rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(guid.length * 8);
  });

  it('rejects other lengths, braces and upper case', () => {
    const guid = randomUUID();
    for (const value of [
      '',
      guid.slice(1),
      `${guid}0`,
      `{${guid}}`,
      ` ${guid}`,
      guid.toUpperCase(),
      guid.replace(/-/g, ''),
      `${guid.slice(0, 35)}\u0130`,
    ])
      expect(isCanonicalGuid(value)).toBe(false);
  });
});
