/**
 * GuidSet and GuidMap against JavaScript's own Set and Map: the same answers for every id, packed or not, through
 * many doublings of the table.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GuidMap, GuidSet } from '../activities/guid-table';

/** Sequential GUIDs as SQL Server makes them: only the last groups change from one to the next. */
function sequentialGuids(count: number): string[] {
  const prefix = randomUUID().slice(0, 24);
  return Array.from({ length: count }, (_, n) => `${prefix}${n.toString(16).padStart(12, '0')}`);
}

describe('GuidSet', () => {
  it('holds exactly the ids added, random and sequential, as a Set does', () => {
    const added = [...Array.from({ length: 20_000 }, () => randomUUID()), ...sequentialGuids(20_000)];
    const absent = [...Array.from({ length: 5_000 }, () => randomUUID()), ...sequentialGuids(5_000)];
    const set = new GuidSet();
    const oracle = new Set<string>();
    for (const id of added) {
      set.add(id);
      oracle.add(id);
    }
    // Adding again changes nothing.
    for (const id of added.slice(0, 1_000)) set.add(id);
    expect(set.size).toBe(oracle.size);
    expect(added.filter((id) => !set.has(id))).toEqual([]);
    expect(absent.filter((id) => set.has(id) !== oracle.has(id))).toEqual([]);
  });

  it('keeps ids that are not canonical GUIDs as they are, apart from the canonical form', () => {
    const id = randomUUID();
    const set = new GuidSet().add(id.toUpperCase()).add(`{${id}}`).add('not-a-guid').add('');
    expect(set.has(id)).toBe(false);
    expect(set.has(id.toUpperCase())).toBe(true);
    expect(set.has(`{${id}}`)).toBe(true);
    expect(set.has('not-a-guid')).toBe(true);
    expect(set.has('')).toBe(true);
    expect(set.has(`${id.slice(0, 35)}g`)).toBe(false);
    expect(set.size).toBe(4);
    set.add(id);
    expect(set.has(id)).toBe(true);
    expect(set.size).toBe(5);
  });

  it('tells apart GUIDs that differ in one hex digit anywhere', () => {
    const id = '00000000-0000-0000-0000-000000000000';
    const set = new GuidSet().add(id);
    const neighbours = [...id.matchAll(/0/g)].map((match) => {
      const at = match.index;
      return `${id.slice(0, at)}f${id.slice(at + 1)}`;
    });
    expect(neighbours).toHaveLength(32);
    expect(neighbours.filter((other) => set.has(other))).toEqual([]);
    expect(set.has(id)).toBe(true);
  });
});

describe('GuidMap', () => {
  it('gives back every value exactly as set, null included, as a Map does', () => {
    const map = new GuidMap();
    const oracle = new Map<string, string | null>();
    const keys = [...Array.from({ length: 15_000 }, () => randomUUID()), ...sequentialGuids(15_000)];
    keys.forEach((key, n) => {
      const value = n % 3 === 0 ? null : n % 3 === 1 ? randomUUID() : `${randomBytes(16).toString('hex')}`;
      map.set(key, value);
      oracle.set(key, value);
    });
    expect(map.size).toBe(oracle.size);
    expect(keys.filter((key) => map.get(key) !== oracle.get(key))).toEqual([]);
    expect(keys.every((key) => map.has(key))).toBe(true);
    const absent = randomUUID();
    expect(map.has(absent)).toBe(false);
    expect(map.get(absent)).toBeUndefined();
  });

  it('replaces a value of any kind with a value of any kind', () => {
    const key = randomUUID();
    const guid = randomUUID();
    const map = new GuidMap();
    const values = [guid, null, 'Parent Account', guid.toUpperCase(), randomUUID(), null, guid];
    for (const value of values) {
      map.set(key, value);
      expect(map.get(key)).toBe(value);
    }
    expect(map.size).toBe(1);
  });

  it('keeps keys that are not canonical GUIDs as they are', () => {
    const id = randomUUID();
    const map = new GuidMap().set(`{${id}}`, id).set('ACCOUNT-1', null).set(id, 'other');
    expect(map.get(`{${id}}`)).toBe(id);
    expect(map.get('ACCOUNT-1')).toBeNull();
    expect(map.has('account-1')).toBe(false);
    expect(map.get(id)).toBe('other');
    expect(map.size).toBe(3);
  });
});
