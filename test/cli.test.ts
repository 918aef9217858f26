import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { firstPageSize } from '../activities';
import { SCHEDULE_ID } from '../workflows';
import { storeChanges, type DryRunReport } from '../dry-run';
import { MarketoStore } from '../store';
import { dynamicsEnv } from './support/faults';
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
      // A small first page (firstPageSize), then pages of 7.
      const first = firstPageSize(7);
      expect(summary.pages).toBe(1 + Math.ceil((snapshot.opportunities.length - first) / 7));
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

  it('status shows the change state as a table: table, mode, last change seen', async () => {
    const result = await oppsync(['status', '--no-follow'], env);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const header = lines.findIndex((line) => /^table\s+mode\s+last change seen$/.test(line));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1, header + 5).map((line) => line.split(/\s{2,}/));
    expect(rows.map((row) => row[0]).sort()).toEqual([
      'accounts',
      'connections',
      'contacts',
      'opportunities',
    ]);
    for (const row of rows) {
      expect(row[1]).toBe('change tracking');
      expect(Math.abs(Date.parse(row[2] ?? '') - Date.now())).toBeLessThan(10 * 60_000);
    }
    expect(result.stdout).not.toContain('{"');
  });

  it('errors lists the open sync errors as a table, as JSON and as CSV', async () => {
    const id = h.emulator.data.create('opportunity', { name: 'an amount that is not a number, "quoted"' });
    h.emulator.faults.serveColumns('opportunity', id, { estimatedvalue: 'a lot' });
    const synced = await oppsync(['sync', '--json'], env);
    expect(JSON.parse(synced.stdout)).toMatchObject({ status: 'COMPLETED', syncErrors: 1 });

    const json = await oppsync(['errors', '--json'], env);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as {
      error: string;
      first_seen_at: string;
      last_seen_at: string;
    }[];
    expect(listed).toEqual([
      {
        entity: 'opportunity',
        record_id: id,
        error: expect.stringMatching(/estimatedvalue is not a number/) as unknown,
        first_seen_at: expect.any(String) as unknown,
        last_seen_at: expect.any(String) as unknown,
      },
    ]);
    const csv = await oppsync(['errors', '--csv'], env);
    const [head, row, end] = csv.stdout.split('\n');
    expect(head).toBe('entity,record_id,error,first_seen_at,last_seen_at');
    expect(row).toBe(
      [
        'opportunity',
        id,
        listed[0]?.error.includes(',') === true ? `"${listed[0]?.error}"` : listed[0]?.error,
        listed[0]?.first_seen_at,
        listed[0]?.last_seen_at,
      ].join(','),
    );
    expect(end).toBe('');
    const table = await oppsync(['errors'], env);
    expect(table.stdout).toMatch(/^entity\s+record\s+reason\s+first seen\s+last seen\n/);
    expect(table.stdout).toContain(id);
    expect(table.stdout).toContain('1 open sync error\n');
    expect((await oppsync(['errors', '--json', '--csv'], env)).code).toBe(2);

    // Served correctly again (the opportunity itself unchanged): the next run reads it again and it syncs.
    h.emulator.faults.serveColumns('opportunity', id, null);
    const next = await oppsync(['sync', '--json'], env);
    expect(JSON.parse(next.stdout)).toMatchObject({ status: 'COMPLETED', syncErrors: 0 });
    expect(JSON.parse((await oppsync(['errors', '--json'], env)).stdout)).toEqual([]);
    expect((await oppsync(['errors'], env)).stdout).toBe('No open sync errors.\n');
  });

  it('logs JSON lines when stderr is not a terminal, readable lines with LOG_FORMAT=pretty or on a terminal', async () => {
    const store = (name: string): Record<string, string> => ({
      MARKETO_DB_URL: `sqlite:${path.join(h.tempDir, `${name}.sqlite`)}`,
    });
    const json = await oppsync(['migrate'], store('json-logs'));
    expect(json.code).toBe(0);
    const line = JSON.parse(json.stderr.trim().split('\n')[0] ?? '') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, command: 'migrate', msg: 'store schema migrated' });

    const pretty = await oppsync(['migrate'], { ...store('pretty-logs'), LOG_FORMAT: 'pretty' });
    expect(pretty.code).toBe(0);
    expect(pretty.stderr).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: store schema migrated\n/);
    expect(pretty.stderr).toContain('command: "migrate"');

    // On a terminal (script(1) gives the command one), readable by default.
    const terminal = await run('script', ['-qec', `${process.execPath} ${BIN} migrate`, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', ...store('terminal-logs') },
    });
    expect(terminal.stdout).toMatch(/INFO.*: .*store schema migrated/);
    expect(terminal.stdout).not.toContain('"msg"');
  });

  it('sync --dry-run reports what the run would change, writes nothing, and the next run does just that', async () => {
    const withDynamics = { ...env, ...dynamicsEnv(h) };
    const [target] = h.emulator.data.list('opportunity');
    const id = String(target?.opportunityid);
    h.emulator.data.update('opportunity', id, { name: 'Renamed for the dry run' });
    const store = await MarketoStore.open(h.config.storeUrl);
    try {
      const before = await store.snapshot();
      const state = await store.state.all();
      const dry = await oppsync(['sync', '--dry-run', '--json'], withDynamics);
      expect(dry.code).toBe(0);
      const report = JSON.parse(dry.stdout) as DryRunReport;
      expect(report.mode).toBe('incremental');
      expect(report.changes.opportunities).toEqual({ created: [], updated: [id], deleted: [] });
      expect(report.dynamicsRequests).toBeGreaterThan(0);
      expect(await store.snapshot()).toEqual(before);
      expect(await store.state.all()).toEqual(state);

      const real = await oppsync(['sync', '--json'], env);
      expect(JSON.parse(real.stdout)).toMatchObject({ status: 'COMPLETED', opportunitiesUpserted: 1 });
      expect(storeChanges(before, await store.snapshot())).toEqual(report.changes);

      const nothing = await oppsync(['sync', '--dry-run'], withDynamics);
      expect(nothing.stdout).toMatch(
        /^Dry run \(incremental, \d+ Dynamics requests\): nothing was written\.\n/,
      );
      expect(nothing.stdout).toMatch(/^opportunities\s+0\s+0\s+0$/m);
    } finally {
      await store.close();
    }
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
