import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows';
import { temporalCliPath } from '../config';

export interface DevServerOptions {
  /** 'test': random ports, headless, SQLite file in a temp folder. 'demo': fixed ports, UI on, file under ./data. */
  mode: 'test' | 'demo';
  /** SQLite file; reusing it across a stop and a start keeps every workflow (restart tests rely on it). */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** The UI decodes encrypted payloads through this codec server when set. */
  codecEndpoint?: string;
  /**
   * Register oppsync's search attributes at start (default). Off: a bare namespace, as a plain
   * `temporal server start-dev` or a new cluster has, on which the worker must register them itself.
   */
  searchAttributes?: boolean;
  /** Receives the server's own output, line by line (default: dropped in tests, kept in a log file for the demo). */
  onOutput?: (line: string) => void;
}

export interface DevServer {
  readonly address: string;
  readonly namespace: string;
  readonly uiUrl?: string;
  readonly dbFile: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * A TCP port nobody listens on. The probe connection is closed from the listening side, which leaves the
 * port in TIME_WAIT: Linux then does not hand it out again for bind(0) for a while, so the dev server's own
 * random internal ports cannot land on the ports we chose for it (the Temporal CLI does the same).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const probe = net.connect(port, '127.0.0.1');
      let closed = false;
      const done = (): void => {
        if (closed) return;
        closed = true;
        probe.destroy();
        server.close(() => resolve(port));
      };
      probe.once('close', done);
      probe.once('error', done);
    });
  });
}

async function waitUntilServing(
  address: string,
  namespace: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`temporal server start-dev exited with code ${child.exitCode} before serving`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        // A bounded call: something else listening on the port may accept and never answer.
        await connection.withDeadline(Date.now() + 2000, () =>
          connection.workflowService.describeNamespace({ namespace }),
        );
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `temporal server start-dev did not serve ${address} within ${timeoutMs} ms: ${String(lastError)}`,
  );
}

/** Starts `temporal server start-dev` (the real Temporal server, SQLite-persisted) and waits until it serves. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = temporalCliPath();
  if (!fs.existsSync(cli)) {
    throw new Error(
      `The Temporal CLI is not installed at ${cli}. Run: npm run tools (builds it once with Go).`,
    );
  }
  const namespace = options.namespace ?? 'default';
  const uiPort = options.uiPort ?? (options.mode === 'test' ? undefined : 8233);
  const dbFile =
    options.dbFile ??
    path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-temporal-')), 'temporal.sqlite');
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });

  // The server binds ports it picks itself after ours; on a busy machine one of them can be taken in the
  // meantime and the server exits before it serves. Such a start is tried again on fresh ports.
  const attempts = 3;
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (options.mode === 'test' ? await freePort() : 7233);
    const launched = await launch({ cli, namespace, port, uiPort, dbFile, options });
    if (launched.server !== undefined) return launched.server;
    if (attempt >= attempts || !launched.exitedEarly) throw launched.error;
    options.onOutput?.(`temporal server start-dev did not start (${launched.error.message}); trying again`);
  }
}

interface LaunchSettings {
  cli: string;
  namespace: string;
  port: number;
  uiPort: number | undefined;
  dbFile: string;
  options: DevServerOptions;
}

type LaunchResult =
  | { server: DevServer; error?: undefined; exitedEarly?: undefined }
  | { server?: undefined; error: Error; exitedEarly: boolean };

const OUTPUT_LINES_KEPT = 20;

/** The server's switch for eager activity dispatch (its dynamic config; off by default before server 1.32). */
const EAGER_ACTIVITIES = 'system.enableActivityEagerExecution';

async function launch({
  cli,
  namespace,
  port,
  uiPort,
  dbFile,
  options,
}: LaunchSettings): Promise<LaunchResult> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', dbFile];
  args.push('--namespace', namespace, '--log-level', 'warn');
  // The dev server picks a random HTTP API port by default; pin the metrics port off so tests never clash.
  args.push('--metrics-port', String(await freePort()));
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.codecEndpoint !== undefined) args.push('--ui-codec-endpoint', options.codecEndpoint);
  // Eager activity dispatch: the worker that completes a run's workflow task takes the activity it schedules,
  // so a run's next page goes to the worker that read it ahead (docs/decisions.md, "Reading ahead").
  args.push('--dynamic-config-value', `${EAGER_ACTIVITIES}=true`);
  if (options.searchAttributes !== false)
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
      args.push('--search-attribute', `${name}=${type}`);

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The last lines the server printed explain a failed start.
  const recent: string[] = [];
  const forward = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      recent.push(line);
      if (recent.length > OUTPUT_LINES_KEPT) recent.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  // A dev server must never outlive the process that started it.
  const killOnExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(address, namespace, child, 60_000);
  } catch (error) {
    killOnExit();
    process.removeListener('exit', killOnExit);
    const exitedEarly = child.exitCode !== null;
    const output = recent.length > 0 ? `\n--- last output of the server ---\n${recent.join('\n')}` : '';
    const message = error instanceof Error ? error.message : String(error);
    return { error: new Error(`${message}${output}`), exitedEarly };
  }

  let stopped: Promise<void> | undefined;
  const server: DevServer = {
    address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://localhost:${uiPort}`,
    dbFile,
    pid: child.pid ?? -1,
    stop(): Promise<void> {
      stopped ??= new Promise<void>((resolve) => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
  return { server };
}
