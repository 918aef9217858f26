import { dryRun, storeChanges, type DryRunReport } from '../../dry-run';
import { createLogger } from '../../shared/logger';
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
  const state = await marketo.changeState();
  const pending = await marketo.pendingCount();
  const report = await dryRun({
    config: h.config,
    dynamics: h.dynamicsAuth,
    logger: createLogger('warn', { test: true }),
    full,
  });
  expect(await marketo.snapshot()).toEqual(before);
  expect(await marketo.changeState()).toEqual(state);
  expect(await marketo.pendingCount()).toBe(pending);
  const result = await sync();
  const after: StoreSnapshot = await marketo.snapshot();
  expect(report.changes).toEqual(storeChanges(before, after));
  return { result, report };
}
