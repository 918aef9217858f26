import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { StoreSnapshot } from '../../store';
import type { SyncSummary } from '../../workflows';
import type { Harness } from './harness';

const BIN = path.resolve(__dirname, '../../bin/oppsync.js');

/** A worker in its own process (`node bin/oppsync.js worker`), so a test can SIGKILL it. */
export interface ChildWorker {
  readonly child: ChildProcess;
  /** Its stderr (JSON log lines) and stdout, as received. */
  readonly output: string[];
  /** 'opportunity page written' lines logged so far. */
  pagesWritten(): number;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** The harness's emulator and client-secret app as a process's Dynamics settings (SPEC section 4). */
export function dynamicsEnv(h: Harness): Record<string, string> {
  return {
    DYNAMICS_URL: h.emulator.url,
    DYNAMICS_TENANT_ID: h.emulator.tenantId,
    DYNAMICS_AUTHORITY: h.emulator.authority,
    DYNAMICS_CLIENT_ID: h.dynamicsAuth.clientId,
    DYNAMICS_CLIENT_SECRET: h.dynamicsAuth.clientSecret ?? '',
    NODE_EXTRA_CA_CERTS: h.caFile(),
    ...(h.marketo !== undefined
      ? {
          MARKETO_REST_URL: h.marketo.url,
          MARKETO_CLIENT_ID: h.marketo.clientId,
          MARKETO_CLIENT_SECRET: h.marketo.clientSecret,
          MARKETO_LEAD_LOOKUP_FIELD: h.config.marketo.leadLookupField,
          MARKETO_MAX_CONCURRENT: String(h.config.marketo.maxConcurrent),
          MARKETO_MAX_CALLS_PER_20S: String(h.config.marketo.maxCallsPer20s),
        }
      : {}),
  };
}

/** Starts a child worker on the harness's task queue, store and emulator (client-secret app of the harness). */
export function spawnWorker(h: Harness, env: Record<string, string> = {}): ChildWorker {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...dynamicsEnv(h),
      MARKETO_DB_URL: h.config.storeUrl,
      TEMPORAL_ADDRESS: h.server.address,
      TEMPORAL_NAMESPACE: h.server.namespace,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      SYNC_PAGE_SIZE: String(h.config.sync.pageSize),
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output,
    exited,
    pagesWritten: () => output.join('').split('opportunity page written').length - 1,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A run's result, or a failure once every given worker has exited first (a run nobody works on would otherwise
 * wait for ever): the failure carries the workers' last output.
 */
export function resultWhileWorking<T>(result: Promise<T>, workers: ChildWorker[]): Promise<T> {
  const allExited = Promise.all(workers.map((worker) => worker.exited)).then((): never => {
    const tails = workers.map((worker) => worker.output.join('').slice(-2000));
    throw new Error(`every worker exited before the run ended:\n${tails.join('\n---\n')}`);
  });
  return Promise.race([result, allExited]);
}

/**
 * A run's result through a Temporal server outage: the client's long poll fails while the server is down, so
 * it asks again (every second, for up to two minutes) until the result is there.
 */
export async function resultThroughOutage(handle: WorkflowHandle): Promise<SyncSummary> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await handle.result()) as SyncSummary;
    } catch (error) {
      if ((error as Error).name === 'WorkflowFailedError' || attempt > 120) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The raw protobuf bytes of every workflow history in the namespace (payloads exactly as stored). */
export async function rawHistories(client: Client): Promise<Buffer[]> {
  const namespace = client.options.namespace;
  const histories: Buffer[] = [];
  for await (const workflow of client.workflow.list()) {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.getWorkflowExecutionHistory({
        namespace,
        execution: { workflowId: workflow.workflowId, runId: workflow.runId },
        nextPageToken,
      });
      histories.push(Buffer.from(temporal.api.history.v1.History.encode(page.history ?? {}).finish()));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken !== undefined);
  }
  return histories;
}

/** Which of `secrets` occur in any of the texts (verbatim, or base64-encoded as a JSON payload would carry them). */
export function secretsFound(haystacks: (string | Buffer)[], secrets: string[]): string[] {
  const buffers = haystacks.map((h) => (typeof h === 'string' ? Buffer.from(h, 'utf8') : h));
  return secrets.filter(
    (secret) =>
      secret.length > 0 &&
      buffers.some(
        (b) => b.includes(Buffer.from(secret, 'utf8')) || b.includes(Buffer.from(secret).toString('base64')),
      ),
  );
}

/** Keys that occur on more than one row of a table (must be none). */
export function duplicateKeys(snapshot: StoreSnapshot): string[] {
  const dupes = (keys: string[]): string[] => keys.filter((k, i) => keys.indexOf(k) !== i);
  return [
    ...dupes(snapshot.opportunities.map((r) => `opportunity ${r.external_opportunity_id}`)),
    ...dupes(
      snapshot.roles.map((r) => `role ${r.external_opportunity_id}|${r.dynamics_contact_id}|${r.role}`),
    ),
    ...dupes(snapshot.leads.map((r) => `lead ${r.dynamics_contact_id}`)),
    ...dupes(snapshot.companies.map((r) => `company ${r.external_company_id}`)),
    ...dupes(snapshot.syncErrors.map((r) => `error ${r.entity}|${r.record_id}`)),
  ];
}
