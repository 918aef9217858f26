import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { runSync, type SyncOutcome } from '../../client';
import { loadConfig, type AppConfig } from '../../config';
import { DynamicsClient, type DynamicsAuthConfig } from '../../dynamics';
import { startEmulator, type Emulator, type EmulatorOptions } from '@oppsync/dataverse-emulator';
import {
  startMarketoEmulator,
  type MarketoEmulator,
  type MarketoEmulatorOptions,
} from '@oppsync/marketo-emulator';
import type { MarketoConnection } from '../../marketo';
import { createLogger } from '../../logging';
import { startDevServer, type DevServer } from '../../temporal';
import { createSyncWorker, installRuntime, workflowsPath, type SyncWorker } from '../../worker';
import { MarketoStore } from '../../store';
import { createTestDatabase } from './postgres';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling the workflow code takes seconds: once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
  });
  return bundle;
}

export interface HarnessOptions {
  store: 'sqlite' | 'postgres';
  emulator?: EmulatorOptions;
  env?: Record<string, string>;
  /** Start the dev server without oppsync's search attributes (a bare namespace, as a new cluster has). */
  bareNamespace?: boolean;
  /** Push into a bundled Marketo emulator over https (SPEC section 7) started with these options. */
  marketo?: MarketoEmulatorOptions;
  /**
   * A Temporal server the test started itself (the real cluster, test/support/cluster.ts) instead of a dev
   * server of the harness's own; the harness neither registers search attributes on it nor stops it.
   */
  server?: TemporalServer;
}

/** The Temporal server a harness runs against: its own dev server, or one the test started. */
export interface TemporalServer {
  readonly address: string;
  readonly namespace: string;
}

/** A demo application registration for the emulator, like the one an admin creates in Entra ID. */
export function emulatorApp(): { clientId: string; clientSecret: string } {
  return { clientId: randomUUID(), clientSecret: `secret-${randomBytes(18).toString('base64url')}` };
}

/**
 * The SDK's own logs through our JSON logger, errors only: the warnings and state changes it logs for every
 * worker, failed activity and workflow would bury a passing run (most failures are ones a test provokes).
 * OPPSYNC_TEST_LOG_LEVEL=warn shows them when a test fails.
 */
export function installTestRuntime(): void {
  const level = process.env.OPPSYNC_TEST_LOG_LEVEL ?? 'error';
  installRuntime(createLogger(level, { test: true }), level);
}

/**
 * The real pieces of one integration test file: a Temporal dev server, the emulator over https, a store on
 * SQLite or PostgreSQL and a worker running the real workflow and activities.
 */
export class Harness {
  /** The most recently started worker. */
  worker?: SyncWorker;
  private readonly workers: { worker: SyncWorker; running: Promise<void>; connection: NativeConnection }[] =
    [];

  private constructor(
    /** The Temporal server the workers and the client talk to. */
    readonly server: TemporalServer,
    /** The harness's own dev server; undefined when the test gave it a server. */
    private readonly ownDevServer: DevServer | undefined,
    readonly emulator: Emulator,
    readonly config: AppConfig,
    readonly dynamicsAuth: DynamicsAuthConfig,
    readonly client: Client,
    private readonly connection: Connection,
    private readonly dropDatabase: (() => Promise<void>) | undefined,
    readonly tempDir: string,
    /** The Marketo emulator the workers push into, when the harness was started with `marketo`. */
    readonly marketo?: MarketoEmulator,
  ) {}

  /** The harness's own dev server (restart tests stop and start it again on its file). */
  get devServer(): DevServer {
    if (this.ownDevServer === undefined)
      throw new Error('this harness runs against a server the test gave it');
    return this.ownDevServer;
  }

  /** A CA file trusting both emulators, for NODE_EXTRA_CA_CERTS of child processes. */
  caFile(): string {
    const file = path.join(this.tempDir, 'emulators-ca.pem');
    fs.writeFileSync(file, `${this.emulator.caPem}\n${this.marketo?.caPem ?? ''}`);
    return file;
  }

  /** Where workers push (the Marketo emulator's address and credentials), when there is a destination. */
  get marketoConnection(): MarketoConnection | undefined {
    const m = this.marketo;
    return m === undefined
      ? undefined
      : { url: m.url, clientId: m.clientId, clientSecret: m.clientSecret, ca: m.caPem };
  }

  static async start(options: HarnessOptions): Promise<Harness> {
    installTestRuntime();
    const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-test-'));
    // What started before a failing step is stopped again, or its open sockets would keep jest from exiting.
    const started: (() => Promise<void>)[] = [
      () => fs.promises.rm(tempDir, { recursive: true, force: true }),
    ];
    try {
      const app = emulatorApp();
      const emulator = await startEmulator({
        dataset: 'demo',
        ...options.emulator,
        clients: [app, ...(options.emulator?.clients ?? [])],
      });
      started.push(() => emulator.close());
      let marketo: MarketoEmulator | undefined;
      if (options.marketo !== undefined) {
        marketo = await startMarketoEmulator(options.marketo);
        started.push(() => (marketo as MarketoEmulator).close());
      }
      let devServer: DevServer | undefined;
      let server: TemporalServer;
      if (options.server !== undefined) server = options.server;
      else {
        const own = await startDevServer({ mode: 'test', searchAttributes: options.bareNamespace !== true });
        started.push(() => own.stop());
        devServer = server = own;
      }
      let storeUrl = `sqlite:${path.join(tempDir, 'marketo.sqlite')}`;
      let drop: (() => Promise<void>) | undefined;
      if (options.store === 'postgres') {
        const db = await createTestDatabase();
        storeUrl = db.url;
        drop = () => db.drop();
        started.push(drop);
      }
      const config = loadConfig({
        MARKETO_DB_URL: storeUrl,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: server.namespace,
        TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
        SYNC_PAGE_SIZE: '7',
        LOG_LEVEL: 'warn',
        ...(marketo !== undefined
          ? {
              MARKETO_REST_URL: marketo.url,
              MARKETO_CLIENT_ID: marketo.clientId,
              MARKETO_CLIENT_SECRET: marketo.clientSecret,
            }
          : {}),
        ...options.env,
      });
      const dynamicsAuth: DynamicsAuthConfig = {
        url: emulator.url,
        tenantId: emulator.tenantId,
        authority: emulator.authority,
        ...app,
        ca: emulator.caPem,
      };
      const connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection, namespace: config.temporal.namespace });
      return new Harness(
        server,
        devServer,
        emulator,
        config,
        dynamicsAuth,
        client,
        connection,
        drop,
        tempDir,
        marketo,
      );
    } catch (error) {
      for (const stop of started.reverse()) await stop().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Starts one more in-process worker on the harness's task queue (several may run side by side) and waits until
   * the server knows its build (the first worker's build becomes the deployment's current version).
   */
  async startWorker(
    options: {
      identity?: string;
      maxConcurrentActivityTaskExecutions?: number;
      /** Another build of the workflow code (default: this file's bundle of workflows/). */
      workflowBundle?: WorkflowBundleWithSourceMap;
    } = {},
  ): Promise<SyncWorker> {
    // One connection per worker: the SDK allows one worker per task queue on a connection, as in separate processes.
    const connection = await NativeConnection.connect({ address: this.server.address });
    const worker = await createSyncWorker({
      config: this.config,
      dynamics: this.dynamicsAuth,
      marketo: this.marketoConnection,
      logger: createLogger('warn', { test: true }),
      connection,
      ...options,
      workflowBundle: options.workflowBundle ?? (await workflowBundle()),
    });
    this.workers.push({ worker, running: worker.run(), connection });
    this.worker = worker;
    await worker.promotion;
    return worker;
  }

  /** Stops every worker this harness started and waits until they have drained. */
  async stopWorker(): Promise<void> {
    for (const { worker } of this.workers) worker.shutdown();
    await Promise.all(this.workers.map(({ running }) => running));
    await Promise.all(this.workers.map(({ connection }) => connection.close()));
    this.workers.length = 0;
    this.worker = undefined;
  }

  sync(full = false): Promise<SyncOutcome> {
    return runSync(this.client, { taskQueue: this.config.temporal.taskQueue, full });
  }

  /** A separate connection to the store, for reading what the sync wrote. */
  async openStore(): Promise<MarketoStore> {
    return MarketoStore.open(this.config.storeUrl);
  }

  /** A plain Web API client, to read the organisation as Dynamics serves it (for the rules' expected result). */
  dynamicsClient(): DynamicsClient {
    return new DynamicsClient({ ...this.dynamicsAuth, pageSize: 5000 });
  }

  async close(): Promise<void> {
    await this.stopWorker();
    await this.connection.close();
    await this.ownDevServer?.stop();
    await this.emulator.close();
    await this.marketo?.close();
    await this.dropDatabase?.();
    fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}
