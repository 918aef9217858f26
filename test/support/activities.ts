/**
 * Activity tests without Temporal: a generated organisation in the emulator, a fresh SQLite store, and a full
 * sync run in order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SyncActivities } from '../../activities';
import { loadConfig, type AppConfig } from '../../config';
import { DynamicsClient } from '../../dynamics';
import { startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import { MarketoStore } from '../../store';
import { emulatorApp } from './harness';

/**
 * Starts the emulator on a generated organisation before the file's tests (closes it after them), with a
 * client reading `pageSize` a page. Read its properties inside tests, once beforeAll has run.
 */
export function generatedOrganisation(options: { opportunities: number; seed: number; pageSize: number }): {
  emulator: Emulator;
  dynamics: DynamicsClient;
} {
  const app = emulatorApp();
  const started = {} as { emulator: Emulator; dynamics: DynamicsClient };
  beforeAll(async () => {
    started.emulator = await startEmulator({
      clients: [app],
      dataset: { generate: { opportunities: options.opportunities, seed: options.seed } },
    });
    started.dynamics = new DynamicsClient({
      url: started.emulator.url,
      tenantId: started.emulator.tenantId,
      authority: started.emulator.authority,
      ca: started.emulator.caPem,
      pageSize: options.pageSize,
      ...app,
    });
  });
  afterAll(async () => {
    await started.emulator.close();
  });
  return started;
}

/** A full sync, activity after activity as the workflow calls them; returns the requests they reported. */
export async function fullSyncInOrder(activities: SyncActivities, syncId: string): Promise<number> {
  const begun = await activities.beginSync({ syncId, full: true });
  let requests = begun.counts.dynamicsRequests ?? 0;
  for (let cursor: string | undefined = begun.cursor; cursor !== undefined;) {
    const page = await activities.syncOpportunityPage({ syncId, mode: 'full', cursor });
    requests += page.counts.dynamicsRequests ?? 0;
    cursor = page.nextCursor;
  }
  await activities.finishSync({ syncId, mode: 'full' });
  return requests;
}

/**
 * A migrated SQLite store in a folder of its own, and the configuration (`env` besides MARKETO_DB_URL) that
 * points to it; close() closes the store and removes the folder.
 */
export async function freshSqliteStore(
  env: Record<string, string>,
): Promise<{ store: MarketoStore; config: AppConfig; close: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-activities-'));
  const config = loadConfig({ ...env, MARKETO_DB_URL: `sqlite:${path.join(dir, 'marketo.sqlite')}` });
  const store = await MarketoStore.open(config.storeUrl);
  const close = async (): Promise<void> => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await store.migrate();
  } catch (error) {
    await close();
    throw error;
  }
  return { store, config, close };
}
