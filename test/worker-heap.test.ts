import { execFileSync } from 'node:child_process';
import { heapGrowthFlag } from '../worker';

describe('worker: the heap growth bound', () => {
  const GiB = 1024 ** 3;

  it('bounds the growth of a large heap unless the operator gave node a growth of their own', () => {
    expect(heapGrowthFlag([], undefined, 4 * GiB)).toBe('--heap-growing-percent=100');
    expect(heapGrowthFlag(['--inspect'], '--max-semi-space-size=4', 2 * GiB)).toBe(
      '--heap-growing-percent=100',
    );
    expect(heapGrowthFlag(['--heap-growing-percent=30'], undefined, 4 * GiB)).toBeUndefined();
    expect(heapGrowthFlag([], '--max-semi-space-size=4  --heap_growing_percent=50', 4 * GiB)).toBeUndefined();
    expect(heapGrowthFlag([], '--heap-growing-percent', 4 * GiB)).toBeUndefined();
  });

  it("leaves a smaller heap to V8, whose own bound is as tight (an operator's --max-old-space-size too)", () => {
    expect(heapGrowthFlag([], undefined, 2 * GiB - 1)).toBeUndefined();
    expect(heapGrowthFlag(['--max-old-space-size=112'], undefined, 160 * 1024 ** 2)).toBeUndefined();
  });

  // The worker sets the flag once node runs: this fails if V8 stops reading it at each collection.
  it('is honoured by V8 when set after start: the heap of the same work peaks lower', () => {
    const script = `
      const v8 = require('node:v8');
      const flag = process.argv[1];
      if (flag) v8.setFlagsFromString(flag);
      const kept = [];
      let peak = 0;
      for (let round = 0; round < 40; round++) {
        const page = [];
        for (let i = 0; i < 40000; i++) page.push({ id: 'r' + round + '-' + i, n: i, text: 'x'.repeat(40) + i });
        kept.push(page);
        if (kept.length > 3) kept.shift();
        peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
      }
      process.stdout.write(String(peak));`;
    // A 4 GiB old generation whatever the machine: V8's own factor is then its largest, as on the benchmark's.
    const peak = (flag: string): number =>
      Number(
        execFileSync(process.execPath, ['--max-old-space-size=4096', '-e', script, flag], {
          encoding: 'utf8',
        }),
      );
    const unbounded = peak('');
    const bounded = peak(heapGrowthFlag([], undefined, 4 * GiB) ?? '');
    expect(bounded).toBeLessThan(unbounded * 0.8);
  });
});
