import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { temporalCliPath } from '../config';
import { Harness, installTestRuntime, workflowBundle } from './support/harness';

const FIXTURES = path.join(__dirname, 'fixtures', 'histories');
const IDS_FILE = path.join(FIXTURES, 'workflow-ids.json');
// Replay needs each history's own workflow id (a backfill derives its children's ids from it).
const workflowIds = fs.existsSync(IDS_FILE)
  ? (JSON.parse(fs.readFileSync(IDS_FILE, 'utf8')) as Record<string, string>)
  : {};
const fixtures = Object.keys(workflowIds);

/** The Temporal CLI's JSON export of a workflow's history, the form every Temporal tool reads. */
function exportHistory(h: Harness, name: string, workflowId: string): void {
  const json = execFileSync(temporalCliPath(), [
    'workflow',
    'show',
    '--output',
    'json',
    '--address',
    h.devServer.address,
    '--workflow-id',
    workflowId,
  ]);
  fs.writeFileSync(path.join(FIXTURES, `${name}.json`), json);
}

/**
 * Histories recorded from real runs (full, incremental and a partitioned backfill with its children, from before
 * the Marketo push; a full sync with it) are replayed against the current workflow code: a change that would break
 * running executions fails here, not in production. `RECORD_HISTORIES=1 npx jest test/replay.test.ts` records the
 * first four anew, `RECORD_HISTORIES=marketo` the last (only after a deliberate, versioned change).
 */
describe('workflow replay', () => {
  beforeAll(installTestRuntime);
  if (process.env.RECORD_HISTORIES === 'marketo') {
    it('records a full sync that pushes to Marketo', async () => {
      const h = await Harness.start({ store: 'sqlite', marketo: {} });
      try {
        await h.startWorker();
        const full = await h.sync(true);
        exportHistory(h, 'full-sync-marketo', full.summary.workflowId);
        const ids = { ...workflowIds, 'full-sync-marketo': full.summary.workflowId };
        fs.writeFileSync(IDS_FILE, `${JSON.stringify(ids, null, 2)}\n`);
      } finally {
        await h.close();
      }
    });
    return;
  }
  if (process.env.RECORD_HISTORIES === '1') {
    it('records histories from real runs', async () => {
      const h = await Harness.start({ store: 'sqlite' });
      try {
        await h.startWorker();
        const full = await h.sync(true);
        const incremental = await h.sync(false);
        const { runSync } = await import('../client');
        const backfill = await runSync(h.client, { taskQueue: h.config.temporal.taskQueue, partitions: 2 });
        const ids = {
          'full-sync': full.summary.workflowId,
          'incremental-sync': incremental.summary.workflowId,
          backfill: backfill.summary.workflowId,
          'backfill-partition': `${backfill.summary.workflowId}-partition-1`,
        };
        for (const [name, workflowId] of Object.entries(ids)) exportHistory(h, name, workflowId);
        fs.writeFileSync(IDS_FILE, `${JSON.stringify(ids, null, 2)}\n`);
      } finally {
        await h.close();
      }
    });
    return;
  }

  it('has recorded histories to replay', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(5);
  });

  it.each(fixtures)('%s replays with the current workflow code', async (name) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowIds[name]);
  });
});
