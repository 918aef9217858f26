import { runSync, startSync } from '../client';
import { SEARCH_ATTRIBUTES } from '../workflows';
import type { SyncProgress } from '../workflows';
import type { MarketoStore } from '../store';
import { ExpectedStore, readOrganisation, sortSnapshot } from './support/expected';
import { Harness } from './support/harness';

const OPTIONS = { customFields: [] };

describe('operating oppsync: progress, searchable runs, partitioned backfill', () => {
  let h: Harness;
  let marketo: MarketoStore;

  beforeAll(async () => {
    // Enough pages, each slowed a little, that a run can be watched while it works.
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 240 } }, latencyMs: 20 },
      env: { SYNC_PAGE_SIZE: '20' },
    });
    await h.startWorker({ identity: 'worker-a', maxConcurrentActivityTaskExecutions: 1 });
    await h.startWorker({ identity: 'worker-b', maxConcurrentActivityTaskExecutions: 1 });
    marketo = await h.openStore();
  });

  afterAll(async () => {
    await marketo?.close();
    await h?.close();
  });

  it('the progress query of a running sync advances page by page', async () => {
    const handle = await startSync(h.client, { taskQueue: h.config.temporal.taskQueue, full: true });
    const seen: number[] = [];
    for (;;) {
      const progress = await handle.query<SyncProgress>('progress').catch(() => undefined);
      if (progress !== undefined && seen[seen.length - 1] !== progress.counts.pages)
        seen.push(progress.counts.pages);
      if ((await handle.describe()).status.name !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const summary = (await handle.result()) as { pages: number; opportunitiesUpserted: number };
    expect(summary.opportunitiesUpserted).toBe(240);
    // Several distinct, growing page counts were read while the run was still going.
    expect(seen.filter((pages) => pages > 0 && pages < summary.pages).length).toBeGreaterThanOrEqual(2);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);

    const query =
      `WorkflowId = '${handle.workflowId}' AND ${SEARCH_ATTRIBUTES.mode} = 'full' ` +
      `AND ${SEARCH_ATTRIBUTES.opportunitiesWritten} >= 240 AND ${SEARCH_ATTRIBUTES.syncErrors} = 0`;
    let found: string[] = [];
    for (let attempt = 0; attempt < 50 && found.length === 0; attempt += 1) {
      found = [];
      for await (const execution of h.client.workflow.list({ query })) found.push(execution.workflowId);
      if (found.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(found).toEqual([handle.workflowId]);
  });

  it('a backfill in 4 partitions on two workers writes exactly what the rules compute, and both workers took part', async () => {
    const before = sortSnapshot(await marketo.snapshot());
    const outcome = await runSync(h.client, { taskQueue: h.config.temporal.taskQueue, partitions: 4 });
    expect(outcome.error).toBeUndefined();
    expect(outcome.summary.status).toBe('COMPLETED');
    expect(outcome.summary.opportunitiesUpserted).toBe(240);

    const expected = new ExpectedStore(OPTIONS).next(await readOrganisation(h.dynamicsClient(), OPTIONS));
    const after = sortSnapshot(await marketo.snapshot());
    expect(after).toEqual(expected);
    // The same store as the single-partition full sync before it.
    expect(after).toEqual(before);

    const identities = new Set<string>();
    for (let index = 1; index <= 4; index += 1) {
      const history = await h.client.workflow
        .getHandle(`${outcome.summary.workflowId}-partition-${index}`)
        .fetchHistory();
      for (const event of history.events ?? []) {
        const identity = event.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    expect([...identities].sort()).toEqual(['worker-a', 'worker-b']);
  });
});
