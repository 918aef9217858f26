/** Seeded randomness: the datasets and the throttle fault must be reproducible run after run. */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
  guid(): string;
}

const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** mulberry32: tiny, fast and good enough for test data. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const u32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const hex = (value: number): string =>
    (BYTE_HEX[value >>> 24] as string) +
    (BYTE_HEX[(value >>> 16) & 0xff] as string) +
    (BYTE_HEX[(value >>> 8) & 0xff] as string) +
    (BYTE_HEX[value & 0xff] as string);
  const random: Random = {
    next: () => u32() / 4294967296,
    int: (maxExclusive) => Math.floor(random.next() * maxExclusive),
    pick: <T>(items: readonly T[]): T => items[random.int(items.length)] as T,
    chance: (probability) => random.next() < probability,
    guid: () => {
      const a = hex(u32());
      const b = hex(u32());
      const c = hex(u32());
      const d = hex(u32());
      // Version-4 layout, like the GUIDs Dataverse hands out.
      const variant = ((parseInt(c.slice(0, 1), 16) & 0x3) | 0x8).toString(16);
      return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4, 8)}${d}`;
    },
  };
  return random;
}
