import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { SCHEDULE_ID } from '../shared/constants';
import { MarketoStore } from '../store';
import { Harness } from './support/harness';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', 'bin', 'oppsync.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function oppsync(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The `oppsync` command as a user runs it (compiled by `npm run build`, which `npm test` runs first). */
describe('the oppsync command', () => {
  let h: Harness;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await Harness.start({ store: 'sqlite' });
    await h.startWorker();
    env = {
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      MARKETO_DB_URL: h.config.storeUrl,
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await h?.close();
  });

  it('sync --json prints the summary of SPEC section 5 and exits 0', async () => {
    const result = await oppsync(['sync', '--json'], env);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout.trim()) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual([
      'workflowId',
      'runId',
      'status',
      'pages',
      'dynamicsRequests',
      'opportunitiesUpserted',
      'opportunitiesDeleted',
      'rolesUpserted',
      'rolesDeleted',
      'leadsUpserted',
      'companiesUpserted',
      'syncErrors',
    ]);
    const store = await MarketoStore.open(h.config.storeUrl);
    try {
      const snapshot = await store.snapshot();
      expect(summary).toMatchObject({
        status: 'COMPLETED',
        opportunitiesUpserted: snapshot.opportunities.length,
        syncErrors: 0,
      });
      expect(summary.rolesUpserted).toBe(snapshot.roles.length);
      expect(summary.pages).toBe(Math.ceil(snapshot.opportunities.length / 7));
      expect(summary.dynamicsRequests).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('schedule create, describe, pause and delete manage the opportunity-sync schedule', async () => {
    expect((await oppsync(['schedule', 'create', '--every', '10m', '--json'], env)).code).toBe(0);
    const described = await oppsync(['schedule', 'describe', '--json'], env);
    expect(described.code).toBe(0);
    expect(JSON.parse(described.stdout)).toMatchObject({
      scheduleId: SCHEDULE_ID,
      every: [600_000],
      paused: false,
      overlap: 'SKIP',
      workflowType: 'opportunitySync',
      taskQueue: env.TEMPORAL_TASK_QUEUE,
    });
    const paused = await oppsync(['schedule', 'pause', '--json'], env);
    expect(JSON.parse(paused.stdout)).toMatchObject({ paused: true });
    expect((await oppsync(['schedule', 'delete', '--json'], env)).code).toBe(0);
    const gone = await oppsync(['schedule', 'describe'], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('does not exist');
  });

  it('status --json lists the runs, the change state and the open sync errors', async () => {
    const result = await oppsync(['status', '--json'], env);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as {
      runs: { status: string; summary: unknown }[];
      changeState: Record<string, unknown>;
      openSyncErrors: number;
    };
    expect(status.runs[0]).toMatchObject({ status: 'COMPLETED' });
    expect(status.runs[0]?.summary).toMatchObject({ mode: 'full' });
    expect(Object.keys(status.changeState)).toEqual(
      expect.arrayContaining([
        'changes:opportunities',
        'changes:connections',
        'changes:contacts',
        'changes:accounts',
      ]),
    );
    expect(status.openSyncErrors).toBe(0);
  });

  it.each([
    [['sync'], { SYNC_PAGE_SIZE: '0' }, 'SYNC_PAGE_SIZE'],
    [['worker'], {}, 'DYNAMICS_URL'],
    [['sync', '--partitions', 'many'], {}, '--partitions'],
    [['schedule', 'explode'], {}, 'unknown schedule action'],
  ])('oppsync %j with bad input exits 2 naming %s', async (args, extra, named) => {
    const result = await oppsync(args, { ...env, ...extra });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(named);
  });
});
