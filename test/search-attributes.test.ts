import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES } from '../workflows';
import { createLogger } from '../logging';
import { createSyncWorker } from '../worker';
import { Harness } from './support/harness';

const { IndexedValueType } = temporal.api.enums.v1;
const BIN = path.join(__dirname, '..', 'bin', 'oppsync.js');
const OURS = Object.keys(SEARCH_ATTRIBUTE_TYPES);

/** The `oppsync` command as a user runs it (compiled by `npm run build`, which `npm test` runs first). */
async function oppsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

/** A plain `temporal server start-dev` namespace: none of oppsync's attributes, as on a new cluster. */
describe('a namespace without oppsync search attributes', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ store: 'sqlite', bareNamespace: true });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function customAttributes(namespace: string): Promise<Record<string, number>> {
    const listed = await h.client.connection.operatorService.listSearchAttributes({ namespace });
    return listed.customAttributes ?? {};
  }

  async function createNamespace(namespace: string, attributes: Record<string, number>): Promise<void> {
    const service = h.client.connection.workflowService;
    await service.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    await h.client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: attributes,
    });
  }

  function workerIn(namespace: string): ReturnType<typeof createSyncWorker> {
    return createSyncWorker({
      config: { ...h.config, temporal: { ...h.config.temporal, namespace } },
      dynamics: h.dynamicsAuth,
      logger: createLogger('warn', { test: true }),
    });
  }

  function cliEnv(namespace: string): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      MARKETO_DB_URL: h.config.storeUrl,
      LOG_LEVEL: 'warn',
    };
  }

  it('the worker registers them at start and a run completes and is searchable by them', async () => {
    const before = await customAttributes(h.config.temporal.namespace);
    for (const name of OURS) expect(before[name]).toBeUndefined();

    await h.startWorker();
    const after = await customAttributes(h.config.temporal.namespace);
    expect(after[SEARCH_ATTRIBUTES.mode]).toBe(IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
    expect(after[SEARCH_ATTRIBUTES.opportunitiesWritten]).toBe(IndexedValueType.INDEXED_VALUE_TYPE_INT);
    expect(after[SEARCH_ATTRIBUTES.syncErrors]).toBe(IndexedValueType.INDEXED_VALUE_TYPE_INT);

    const outcome = await h.sync();
    expect(outcome.error).toBeUndefined();
    expect(outcome.summary.status).toBe('COMPLETED');
    expect(outcome.summary.opportunitiesUpserted).toBeGreaterThan(0);
    const description = await h.client.workflow.getHandle(outcome.summary.workflowId).describe();
    expect(description.searchAttributes[SEARCH_ATTRIBUTES.mode]).toEqual(['full']);
    expect(description.searchAttributes[SEARCH_ATTRIBUTES.opportunitiesWritten]).toEqual([
      outcome.summary.opportunitiesUpserted + outcome.summary.opportunitiesDeleted,
    ]);

    // The first run asked for no mode: its first step says only 'begin sync', the pages then say 'full'.
    const history = await h.client.workflow.getHandle(outcome.summary.workflowId).fetchHistory();
    const summaries = (history.events ?? [])
      .filter((event) => event.activityTaskScheduledEventAttributes)
      .map(
        (event) =>
          JSON.parse(Buffer.from(event.userMetadata?.summary?.data ?? []).toString('utf8')) as string,
      );
    expect(summaries[0]).toBe('begin sync');
    expect(summaries[1]).toBe('full opportunity page 1');
  });

  it('where the server refuses to register them, the worker refuses to start and sync exits 2, naming them and the command', async () => {
    // SQL visibility has three Int slots a namespace: taken, the server refuses oppsync's two Int attributes.
    const namespace = 'no-int-slots';
    const INT = IndexedValueType.INDEXED_VALUE_TYPE_INT;
    await createNamespace(namespace, { OtherIntA: INT, OtherIntB: INT, OtherIntC: INT });

    const refused = workerIn(namespace);
    await expect(refused).rejects.toMatchObject({ name: 'SearchAttributesError' });
    const message = await refused.catch((error: Error) => error.message);
    for (const name of OURS) expect(message).toContain(name);
    expect(message).toContain('the server refused to register them');
    expect(message).toContain(
      `temporal operator search-attribute create --namespace ${namespace} --name OppsyncMode --type Keyword ` +
        '--name OppsyncOpportunitiesWritten --type Int --name OppsyncSyncErrors --type Int',
    );
    expect(message).toContain('tcld namespace search-attributes add');

    const cli = await oppsync(['sync', '--json'], cliEnv(namespace));
    expect(cli.code).toBe(2);
    for (const name of OURS) expect(cli.stderr).toContain(name);
    expect(cli.stderr).toContain(`temporal operator search-attribute create --namespace ${namespace}`);
    // No run was started that could hang.
    const runs = await h.client.connection.workflowService.countWorkflowExecutions({ namespace });
    expect(Number(runs.count)).toBe(0);
    // Nothing half-registered either.
    const attributes = await customAttributes(namespace);
    for (const name of OURS) expect(attributes[name]).toBeUndefined();
  });

  it('an attribute registered with another type stops the worker with a message naming it', async () => {
    const namespace = 'mistyped';
    await createNamespace(namespace, { [SEARCH_ATTRIBUTES.mode]: IndexedValueType.INDEXED_VALUE_TYPE_INT });
    const refused = workerIn(namespace);
    await expect(refused).rejects.toMatchObject({ name: 'SearchAttributesError' });
    const message = await refused.catch((error: Error) => error.message);
    expect(message).toContain('OppsyncMode (Keyword)');
    expect(message).toContain(
      `temporal operator search-attribute remove --namespace ${namespace} --name OppsyncMode`,
    );
    expect(message).not.toContain('OppsyncSyncErrors');
  });
});
