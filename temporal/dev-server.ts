import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../shared/constants';
import { temporalCliPath } from '../shared/paths';

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
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
        await connection.workflowService.describeNamespace({ namespace });
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
  const port = options.port ?? (options.mode === 'test' ? await freePort() : 7233);
  const uiPort = options.uiPort ?? (options.mode === 'test' ? undefined : 8233);
  const dbFile =
    options.dbFile ??
    path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-temporal-')), 'temporal.sqlite');
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', dbFile];
  args.push('--namespace', namespace, '--log-level', 'warn');
  // The dev server picks a random HTTP API port by default; pin the metrics port off so tests never clash.
  args.push('--metrics-port', String(await freePort()));
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.codecEndpoint !== undefined) args.push('--ui-codec-endpoint', options.codecEndpoint);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
    args.push('--search-attribute', `${name}=${type}`);

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') options.onOutput?.(line);
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
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
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
}
