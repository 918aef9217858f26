import { PagePrefetch } from '../activities/page-prefetch';

/** A loader factory for page `n` that records, in `started`, each page whose read actually started. */
const loaderRecordingInto = (started: number[]) => (n: number) => (): Promise<number> => {
  started.push(n);
  return Promise.resolve(n);
};

describe('PagePrefetch (pages read ahead)', () => {
  it('hands a read-ahead to one taker only', async () => {
    const prefetch = new PagePrefetch<string>();
    let loads = 0;
    prefetch.start('page-2', () => Promise.resolve(`loaded ${++loads}`));
    prefetch.start('page-2', () => Promise.resolve(`loaded ${++loads}`));
    expect(loads).toBe(1);
    await expect(prefetch.take('page-2')).resolves.toBe('loaded 1');
    expect(prefetch.take('page-2')).toBeUndefined();
    expect(prefetch.take('page-3')).toBeUndefined();
  });

  it('holds at most maxEntries pages, dropping the oldest', async () => {
    const prefetch = new PagePrefetch<number>(2);
    for (const n of [1, 2, 3]) prefetch.start(`page-${n}`, () => Promise.resolve(n));
    expect(prefetch.size).toBe(2);
    expect(prefetch.take('page-1')).toBeUndefined();
    await expect(prefetch.take('page-3')).resolves.toBe(3);
  });

  it('startWhenRoom waits while every place is taken, drops no page, and starts once one is taken', async () => {
    const prefetch = new PagePrefetch<number>(2);
    const started: number[] = [];
    const load = loaderRecordingInto(started);
    prefetch.start('page-2', load(2));
    prefetch.startWhenRoom('page-3', load(3));
    prefetch.startWhenRoom('page-4', load(4));
    prefetch.startWhenRoom('page-3', load(3));
    expect(started).toEqual([2, 3]);
    expect([prefetch.size, prefetch.waitingCount]).toEqual([2, 1]);
    await expect(prefetch.take('page-2')).resolves.toBe(2);
    expect(started).toEqual([2, 3, 4]);
    await expect(prefetch.take('page-3')).resolves.toBe(3);
    await expect(prefetch.take('page-4')).resolves.toBe(4);
    expect([prefetch.size, prefetch.waitingCount]).toEqual([0, 0]);
  });

  it('a waiting read started or taken meanwhile is not started again; only the newest few wait', () => {
    const prefetch = new PagePrefetch<number>(1);
    const started: number[] = [];
    const load = loaderRecordingInto(started);
    prefetch.start('page-1', load(1));
    for (const n of [2, 3, 4]) prefetch.startWhenRoom(`page-${n}`, load(n));
    expect(prefetch.waitingCount).toBe(1); // page-4 only
    prefetch.startWhenRoom('page-5', load(5));
    expect(prefetch.take('page-4')).toBeUndefined(); // never started: no longer waits either
    void prefetch.take('page-1');
    expect(started).toEqual([1, 5]);
  });

  it('does not hand out a page read longer ago than maxAgeMs', () => {
    let clock = 0;
    const prefetch = new PagePrefetch<number>(2, 1000, () => clock);
    prefetch.start('page-2', () => Promise.resolve(2));
    clock = 1001;
    expect(prefetch.take('page-2')).toBeUndefined();
    expect(prefetch.size).toBe(0);
  });

  it('keeps a failed read-ahead for its taker without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const prefetch = new PagePrefetch<number>();
      prefetch.start('page-2', () => Promise.reject(new Error('503 from Dynamics')));
      await new Promise((resolve) => setImmediate(resolve));
      await expect(prefetch.take('page-2')).rejects.toThrow('503 from Dynamics');
    } finally {
      process.removeListener('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('drain settles only once every read under way has, and starts none of those still waiting', async () => {
    const prefetch = new PagePrefetch<number>(1);
    let finish!: (n: number) => void;
    prefetch.start('page-2', () => new Promise<number>((resolve) => (finish = resolve)));
    const started: number[] = [];
    prefetch.startWhenRoom('page-3', loaderRecordingInto(started)(3));
    let drained = false;
    const draining = prefetch.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    finish(2);
    await draining;
    expect(drained).toBe(true);
    expect(started).toEqual([]);
    expect([prefetch.size, prefetch.waitingCount]).toEqual([0, 0]);
  });
});
