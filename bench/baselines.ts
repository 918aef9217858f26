/**
 * The change-tracking baselines a full sync begins with, timed apart from the run: each table's walk alone and
 * the related tables' walks side by side, as beginSync takes them. A baseline is a serial walk of its table's
 * pages (its delta link comes only after the last one), so its time is pages × the latency of one request.
 */
import { performance } from 'node:perf_hooks';
import {
  ACCOUNTS,
  CONNECTIONS,
  CONTACTS,
  DynamicsClient,
  opportunityTable,
  type DynamicsAuthConfig,
  type TableSpec,
} from '../dynamics';

export interface BaselineFigures {
  /** Seconds of each table's baseline walked alone, and its pages. */
  alone: Record<string, { seconds: number; pages: number }>;
  /** Seconds of the three related tables' baselines walked side by side. */
  relatedTogether: number;
  /** The slowest related table alone; side by side should take about as long. */
  slowestRelatedAlone: number;
}

/** Walks `table`'s baseline as beginSync does (key-only for the related tables, every column for opportunities). */
async function walk(dynamics: DynamicsClient, table: TableSpec, related: boolean): Promise<number> {
  const select = related ? [table.key] : [...table.select];
  const url = dynamics.firstPageUrl(table.entitySet, { select, trackChanges: true });
  const { pages } = await dynamics.walkToDeltaLink(url, { trackChanges: true });
  return pages;
}

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { seconds: (performance.now() - started) / 1000, value };
}

export async function measureBaselines(auth: DynamicsAuthConfig): Promise<BaselineFigures> {
  const dynamics = new DynamicsClient({ ...auth, pageSize: 5000 });
  await dynamics.isChangeTrackingEnabled('opportunity'); // the token first: not part of a walk
  const related = [CONNECTIONS, CONTACTS, ACCOUNTS];
  const alone: BaselineFigures['alone'] = {};
  for (const table of [opportunityTable([], undefined), ...related]) {
    const { seconds, value } = await timed(() => walk(dynamics, table, related.includes(table)));
    alone[table.entitySet] = { seconds, pages: value };
  }
  const together = await timed(() => Promise.all(related.map((table) => walk(dynamics, table, true))));
  return {
    alone,
    relatedTogether: together.seconds,
    slowestRelatedAlone: Math.max(...related.map((table) => alone[table.entitySet]?.seconds ?? 0)),
  };
}
