import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startSync } from '../client';
import type { RuleOptions } from '../rules';
import { temporalCliPath } from '../config';
import type { SyncProgress } from '../workflows';
import type { MarketoStore } from '../store';
import { ExpectedStore, expectExactStore } from './support/expected';
import { waitFor } from './support/faults';
import { Harness, workflowBundle } from './support/harness';

const OPTIONS: RuleOptions = { customFields: [] };
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never;

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** Who completed each workflow task of a run: the worker's identity, its build, and when. */
function workflowTasks(history: History): { identity: string; buildId: string; at: Date }[] {
  return (history.events ?? []).flatMap((event) => {
    const task = event.workflowTaskCompletedEventAttributes;
    if (task == null) return [];
    return [
      {
        identity: task.identity ?? '',
        buildId: task.deploymentVersion?.buildId ?? '',
        at: optionalTsToDate(event.eventTime) ?? new Date(0),
      },
    ];
  });
}

const failedTasks = (history: History) =>
  (history.events ?? []).filter((event) => event.workflowTaskFailedEventAttributes != null);
const timers = (history: History) =>
  (history.events ?? []).filter((event) => event.timerStartedEventAttributes != null);

/**
 * Build A runs the released workflow code; build B a changed copy (test/support/changed-workflows.ts) whose
 * first command differs, so B could not replay a run that A started. Each worker gets the build id derived
 * from its own code.
 */

const LATENCY_MS = 30;
describe('worker versioning: deploying changed workflow code while a sync runs', () => {
  let h: Harness;
  let marketo: MarketoStore;
  let changedBuild: WorkflowBundleWithSourceMap;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    // Thirty slowed pages: the first run is still working when build B is deployed and promoted.
    h = await Harness.start({
      store: 'sqlite',
      emulator: { dataset: { generate: { opportunities: 300, seed: 11 } }, latencyMs: LATENCY_MS },
      env: { SYNC_PAGE_SIZE: '10' },
    });
    marketo = await h.openStore();
    changedBuild = await bundleWorkflowCode({
      workflowsPath: require.resolve('./support/changed-workflows'),
      logger: quiet,
    });
  });

  afterAll(async () => {
    await marketo?.close();
    await h?.close();
  });

  it('the run in flight finishes on build A, exactly, while a run started after promotion runs on B', async () => {
    const taskQueue = h.config.temporal.taskQueue;
    const deploymentName = h.config.operations.deploymentName;
    const a = await h.startWorker({ identity: 'worker-build-a' });
    // A new deployment has no current version: the first build makes itself current.
    await expect(a.promotion).resolves.toEqual({ current: true, promoted: true });
    expect(a.version.buildId).toMatch(/^oppsync-\d+\.\d+\.\d+-[0-9a-f]{12}$/);

    const inFlight = await startSync(h.client, { taskQueue, full: true });
    await waitFor('two pages written on build A', async () => {
      const progress = await inFlight.query<SyncProgress>('progress').catch(() => undefined);
      return (progress?.counts.pages ?? 0) >= 2;
    });

    // Build B's worker takes seconds to start and to be seen polling: slow Dynamics down meanwhile, so the run
    // is surely still in flight when B becomes current.
    h.emulator.faults.latencyMs = 400;
    const b = await h.startWorker({ identity: 'worker-build-b', workflowBundle: changedBuild });
    expect(b.version.buildId).not.toBe(a.version.buildId);
    // A later build waits for the operator.
    await expect(b.promotion).resolves.toEqual({
      current: false,
      promoted: false,
      currentBuildId: a.version.buildId,
    });
    const promotedAt = new Date();
    await promisify(execFile)(temporalCliPath(), [
      'worker',
      'deployment',
      'set-current-version',
      '--deployment-name',
      deploymentName,
      '--build-id',
      b.version.buildId,
      '--address',
      h.devServer.address,
      '--yes',
    ]);
    expect((await inFlight.describe()).status.name).toBe('RUNNING');
    h.emulator.faults.latencyMs = LATENCY_MS;

    const first = await inFlight.result();
    expect(first.status).toBe('COMPLETED');
    expect(first.opportunitiesUpserted).toBe(300);
    await expectExactStore(h, marketo, expected, OPTIONS);
    const firstHistory = await inFlight.fetchHistory();
    const firstTasks = workflowTasks(firstHistory);
    expect(new Set(firstTasks.map((task) => `${task.identity} ${task.buildId}`))).toEqual(
      new Set([`worker-build-a ${a.version.buildId}`]),
    );
    // Build A went on with it after B had become current.
    expect(firstTasks.filter((task) => task.at > promotedAt).length).toBeGreaterThan(1);
    expect(failedTasks(firstHistory)).toEqual([]);
    expect(timers(firstHistory)).toEqual([]);
    // What the pinning saves it from: B's code fails to replay this history, A's replays it.
    await expect(
      Worker.runReplayHistory({ workflowBundle: changedBuild }, firstHistory, inFlight.workflowId),
    ).rejects.toMatchObject({ name: 'DeterminismViolationError' });
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle() },
      firstHistory,
      inFlight.workflowId,
    );

    const ids = h.emulator.data.list('opportunity').map((row) => String(row.opportunityid));
    for (const id of ids.slice(0, 25)) h.emulator.data.update('opportunity', id, { name: `renamed ${id}` });
    const next = await startSync(h.client, { taskQueue });
    const second = await next.result();
    expect(second.status).toBe('COMPLETED');
    expect(second.mode).toBe('incremental');
    await expectExactStore(h, marketo, expected, OPTIONS);
    const secondHistory = await next.fetchHistory();
    expect(new Set(workflowTasks(secondHistory).map((task) => `${task.identity} ${task.buildId}`))).toEqual(
      new Set([`worker-build-b ${b.version.buildId}`]),
    );
    expect(timers(secondHistory)).toHaveLength(1);
    expect(failedTasks(secondHistory)).toEqual([]);
    const pinned = (await next.describe()).raw.workflowExecutionInfo?.versioningInfo;
    expect(pinned?.deploymentVersion).toEqual({ deploymentName, buildId: b.version.buildId });
  }, 240_000);
});
