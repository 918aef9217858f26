/**
 * The real Temporal server of scripts/temporal-cluster.sh (the server itself, PostgreSQL persistence and
 * visibility) as a test's server: started once a file, restarted mid-run by the fault scenarios, stopped after.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TemporalServer } from './harness';

const SCRIPT = path.resolve(__dirname, '../../scripts/temporal-cluster.sh');
const execFileAsync = promisify(execFile);

export interface TemporalCluster extends TemporalServer {
  /** Stops the server and starts it again on the same databases (a server restart mid-run). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The script's command; it builds the server first when .tools lacks it (.ci/run has built it by then). */
async function cluster(command: 'start' | 'stop' | 'restart'): Promise<void> {
  await execFileAsync('bash', [SCRIPT, command], { timeout: 15 * 60_000 });
}

export async function startCluster(): Promise<TemporalCluster> {
  await cluster('start');
  return {
    address: `127.0.0.1:${process.env.TEMPORAL_CLUSTER_PORT ?? '7333'}`,
    namespace: 'default',
    restart: () => cluster('restart'),
    stop: () => cluster('stop'),
  };
}
