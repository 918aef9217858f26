import { execFileSync } from 'node:child_process';
import { heapGrowthFlag } from '../worker';

describe('worker: the heap growth bound', () => {
  it('bounds the growth unless the operator gave node a growth of their own', () => {
    expect(heapGrowthFlag([])).toBe('--heap-growing-percent=100');
    expect(heapGrowthFlag(['--max-old-space-size=128'], '--max-semi-space-size=4')).toBe(
      '--heap-growing-percent=100',
    );
    expect(heapGrowthFlag(['--heap-growing-percent=30'])).toBeUndefined();
    expect(heapGrowthFlag([], '--max-old-space-size=128  --heap_growing_percent=50')).toBeUndefined();
    expect(heapGrowthFlag([], '--heap-growing-percent')).toBeUndefined();
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
    const peak = (flag: string): number =>
      Number(execFileSync(process.execPath, ['-e', script, flag], { encoding: 'utf8' }));
    const unbounded = peak('');
    const bounded = peak(heapGrowthFlag([]) ?? '');
    expect(bounded).toBeLessThan(unbounded * 0.8);
  });
});
