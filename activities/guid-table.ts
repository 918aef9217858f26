/**
 * A set and a map keyed by GUIDs that keep each GUID as four 32-bit words in a typed array instead of a
 * 36-character string in a Map. A run's memory holds up to 250,000 ids (a 100,000-opportunity full sync: 151,000
 * ids and 100,000 parent ids); as strings and hash-table entries they were about 20 MiB of live heap that every
 * full collection of the worker's main thread marked again, and under a heap bound they cost collections.
 * In typed arrays they are about 6 MiB outside the heap, which the collector does not trace.
 *
 * Only canonical GUIDs (lower-case 8-4-4-4-12, the form ids are normalised to) are packed; any other string is
 * kept in an ordinary Map beside the table, so every key and value still comes back exactly as it went in.
 */

/** Where a canonical GUID's four hyphens are. */
const GUID_HYPHEN_POSITIONS: readonly number[] = [8, 13, 18, 23];

const KEY_WORDS = 4;
/** Slot states. */
const FREE = 0;
const NO_VALUE = 1;
const PACKED_VALUE = 2;
const OTHER_VALUE = 3;
const MAX_LOAD = 0.75;
const FIRST_CAPACITY = 1024;

/** Writes the four words of a canonical GUID to `out` from `at`; false (out partly written) when it is not one. */
function packGuid(id: string, out: Uint32Array, at: number): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let nibbles = 0;
  let index = at;
  for (let i = 0; i < 36; i++) {
    const code = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== 45) return false;
      continue;
    }
    let nibble: number;
    if (code >= 48 && code <= 57) nibble = code - 48;
    else if (code >= 97 && code <= 102) nibble = code - 87;
    else return false;
    word = (word << 4) | nibble;
    if (++nibbles === 8) {
      out[index++] = word;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}

/** Character codes of the hex digits, by value. */
const HEX_DIGITS = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));
/** Where the 32 digits of a canonical GUID go among its 36 characters (the other four are hyphens). */
const DIGIT_POSITIONS = Array.from({ length: 36 }, (_, i) => i).filter(
  (i) => !GUID_HYPHEN_POSITIONS.includes(i),
);
/** The characters of the GUID being unpacked, hyphens in place: reused, so that unpacking allocates one string. */
const unpacked: number[] = Array.from({ length: 36 }, () => '-'.charCodeAt(0));

/**
 * The canonical GUID whose words are at `words[at…at+3]`. Written digit by digit into one array of character
 * codes and made a string once: formatting each word and joining the pieces made a dozen strings per id.
 */
function unpackGuid(words: Uint32Array, at: number): string {
  let digit = 0;
  for (let w = 0; w < KEY_WORDS; w++) {
    const word = words[at + w] as number;
    for (let shift = 28; shift >= 0; shift -= 4)
      unpacked[DIGIT_POSITIONS[digit++] as number] = HEX_DIGITS[(word >>> shift) & 15] as number;
  }
  return String.fromCharCode(...unpacked);
}

/** Mixes the four words (sequential GUIDs differ in a few bytes only, so no single word will do). */
function hashWords(words: Uint32Array, at: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < KEY_WORDS; i++) {
    hash = Math.imul(hash ^ (words[at + i] as number), 0x01000193);
    hash ^= hash >>> 15;
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  return (hash ^ (hash >>> 13)) >>> 0;
}

/** The probed key of a lookup, so that a lookup allocates nothing. */
const probe = new Uint32Array(KEY_WORDS);

/**
 * Open addressing with linear probing over `capacity` slots of `width` words each (the key's four, then the
 * value's four in a map). No removal: a run's memory only grows until it is dropped as a whole.
 */
class GuidSlots {
  private states: Uint8Array;
  private words: Uint32Array;
  private filled = 0;

  constructor(private readonly width: number) {
    this.states = new Uint8Array(FIRST_CAPACITY);
    this.words = new Uint32Array(FIRST_CAPACITY * width);
  }

  get size(): number {
    return this.filled;
  }

  /** The slot holding the packed `probe`, or the free slot where it would go. */
  find(): number {
    const mask = this.states.length - 1;
    const { states, words, width } = this;
    for (let slot = hashWords(probe, 0) & mask; ; slot = (slot + 1) & mask) {
      if (states[slot] === FREE) return slot;
      const at = slot * width;
      if (
        words[at] === probe[0] &&
        words[at + 1] === probe[1] &&
        words[at + 2] === probe[2] &&
        words[at + 3] === probe[3]
      )
        return slot;
    }
  }

  state(slot: number): number {
    return this.states[slot] as number;
  }

  /** Marks `slot` (from `find`) as holding `probe` with `state`; returns the slot, which moves when the table grows. */
  fill(slot: number, state: number): number {
    if (this.states[slot] === FREE) {
      if (this.filled + 1 > this.states.length * MAX_LOAD) {
        this.grow();
        slot = this.find();
      }
      this.words.set(probe, slot * this.width);
      this.filled++;
    }
    this.states[slot] = state;
    return slot;
  }

  wordsOf(slot: number): { words: Uint32Array; at: number } {
    return { words: this.words, at: slot * this.width };
  }

  private grow(): void {
    const { states, words, width } = this;
    this.states = new Uint8Array(states.length * 2);
    this.words = new Uint32Array(this.states.length * width);
    const mask = this.states.length - 1;
    for (let old = 0; old < states.length; old++) {
      if (states[old] === FREE) continue;
      const from = old * width;
      let slot = hashWords(words, from) & mask;
      while (this.states[slot] !== FREE) slot = (slot + 1) & mask;
      this.states[slot] = states[old] as number;
      this.words.set(words.subarray(from, from + width), slot * width);
    }
  }
}

/** A set of ids: GUIDs packed, anything else as it is. */
export class GuidSet {
  private readonly slots = new GuidSlots(KEY_WORDS);
  private readonly others = new Set<string>();

  get size(): number {
    return this.slots.size + this.others.size;
  }

  has(id: string): boolean {
    if (!packGuid(id, probe, 0)) return this.others.has(id);
    return this.slots.state(this.slots.find()) !== FREE;
  }

  add(id: string): this {
    if (!packGuid(id, probe, 0)) this.others.add(id);
    else this.slots.fill(this.slots.find(), NO_VALUE);
    return this;
  }
}

/** A map from ids to an id or null: GUIDs packed, anything else as it is. */
export class GuidMap {
  private readonly slots = new GuidSlots(2 * KEY_WORDS);
  /** Entries whose key is not a canonical GUID. */
  private readonly others = new Map<string, string | null>();
  /** Values that are not canonical GUIDs, by key, for packed keys. */
  private readonly otherValues = new Map<string, string>();

  get size(): number {
    return this.slots.size + this.others.size;
  }

  has(id: string): boolean {
    if (!packGuid(id, probe, 0)) return this.others.has(id);
    return this.slots.state(this.slots.find()) !== FREE;
  }

  get(id: string): string | null | undefined {
    if (!packGuid(id, probe, 0)) return this.others.get(id);
    const slot = this.slots.find();
    switch (this.slots.state(slot)) {
      case FREE:
        return undefined;
      case NO_VALUE:
        return null;
      case OTHER_VALUE:
        return this.otherValues.get(id);
      default: {
        const { words, at } = this.slots.wordsOf(slot);
        return unpackGuid(words, at + KEY_WORDS);
      }
    }
  }

  set(id: string, value: string | null): this {
    if (!packGuid(id, probe, 0)) {
      this.others.set(id, value);
      return this;
    }
    let slot = this.slots.find();
    if (this.slots.state(slot) === OTHER_VALUE) this.otherValues.delete(id);
    if (value === null) {
      this.slots.fill(slot, NO_VALUE);
      return this;
    }
    // The key stays in `probe` while the value is packed behind it in the slot.
    slot = this.slots.fill(slot, PACKED_VALUE);
    const { words, at } = this.slots.wordsOf(slot);
    if (!packGuid(value, words, at + KEY_WORDS)) {
      this.slots.fill(slot, OTHER_VALUE);
      this.otherValues.set(id, value);
    }
    return this;
  }
}
