import { dryRun, storeChanges, type DryRunReport } from '../../dry-run';
import { createLogger } from '../../logging';
import type { MarketoStore, StoreSnapshot } from '../../store';
import type { Harness } from './harness';

/**
 * A dry run, then the real run: the dry run leaves the store, its change state and its queue as they were, and
 * what it reports is exactly what the real run then creates, updates and deletes, row for row.
 */
export async function dryRunThenSync<R>(
  h: Harness,
  marketo: MarketoStore,
  full: boolean,
  sync: () => Promise<R>,
): Promise<{ result: R; report: DryRunReport }> {
  const before = await marketo.snapshot();
  const state = await marketo.state.all();
  const pending = await marketo.pending.count();
  const marketoWrites = (): number =>
    h.marketo?.stats.log.filter((call) => call.method === 'POST').length ?? 0;
  const writesBefore = marketoWrites();
  const report = await dryRun({
    config: h.config,
    dynamics: h.dynamicsAuth,
    marketo: h.marketoConnection,
    logger: createLogger('warn', { test: true }),
    full,
  });
  expect(await marketo.snapshot()).toEqual(before);
  expect(await marketo.state.all()).toEqual(state);
  expect(await marketo.pending.count()).toBe(pending);
  expect(marketoWrites()).toBe(writesBefore);
  const result = await sync();
  const after: StoreSnapshot = await marketo.snapshot();
  expect(report.changes).toEqual(storeChanges(before, after));
  expect(report.marketo !== undefined).toBe(h.marketo !== undefined);
  if (report.marketo !== undefined) {
    // Each step sent what the dry run foretold; roles of leads Marketo did not hold yet it cannot count.
    for (const [step, foretold] of Object.entries(report.marketo)) {
      const pushed = JSON.parse((await marketo.state.get(`marketo-push:${step}`)) ?? '{}') as {
        sent?: number;
      };
      const count = foretold.create + foretold.update + foretold.delete;
      if (step === 'roles') expect(pushed.sent ?? 0).toBeGreaterThanOrEqual(count);
      else expect([step, pushed.sent ?? 0]).toEqual([step, count]);
    }
  }
  return { result, report };
}
