/**
 * The bundled Dataverse Web API + Entra ID emulator: one HTTPS server on 127.0.0.1 with a self-signed
 * certificate, an in-memory organisation, and test hooks (data, faults, stats) in-process and over HTTP.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { loadOrCreateCertificate } from './certificate';
import { createControlHandler } from './control';
import { createEmulatorData } from './data';
import { seedDemoDataset } from './demo-dataset';
import { createFaults, createFaultState } from './faults';
import { seedGeneratedDataset } from './generated-dataset';
import { QueryEngine } from './query';
import { seedReferenceData } from './reference-data';
import { API_PATH, createRequestHandler } from './server';
import { DEFAULT_LIMITS, ServiceProtection } from './service-protection';
import { createStats } from './stats';
import { OrgStore } from './store';
import { TokenService } from './token-service';
import type { Emulator, EmulatorOptions } from './types';

export type {
  Emulator,
  EmulatorData,
  EmulatorFaults,
  EmulatorOptions,
  EmulatorStats,
  EntityName,
  GenerateOptions,
  Lookup,
  RequestLogEntry,
  ServiceProtectionLimits,
} from './types';
export { DEMO } from './demo-dataset';
export { CONNECTION_ROLES, CURRENCIES, SYSTEM_USERS } from './reference-data';
export { countEarlyRetries } from './stats';
// The Marketo emulator serves its own certificate from the same helper.
export { loadOrCreateCertificate, type EmulatorCertificate } from './certificate';

/** Credentials the emulator accepts when the options name none (the demo uses them). */
export const EMULATOR_DEFAULTS = {
  tenantId: 'oppsync-emulator-tenant',
  client: { clientId: 'oppsync-emulator-client', clientSecret: 'oppsync-emulator-secret' },
  user: { username: 'sync.user@oppsync-emulator.example', password: 'emulator-password' },
  publicClientId: 'oppsync-emulator-public-client',
} as const;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const tenantId = options.tenantId ?? EMULATOR_DEFAULTS.tenantId;
  const changeTracking: Record<string, boolean> = {
    opportunity: true,
    contact: true,
    account: true,
    connection: true,
    ...options.changeTracking,
  };
  const store = new OrgStore();
  seedReferenceData(store);
  const dataset = options.dataset ?? 'demo';
  if (dataset === 'demo') seedDemoDataset(store);
  else if (dataset !== 'empty') seedGeneratedDataset(store, dataset.generate);

  const certificate = await loadOrCreateCertificate(options.certDir);
  const stats = createStats();
  const faultState = createFaultState(options.latencyMs ?? 0);
  const data = createEmulatorData(store);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };

  const server = createServer({ cert: certificate.cert, key: certificate.key, maxHeaderSize: 80 * 1024 });
  // The request handler is attached once listening: the org URL (with its port) is part of every answer.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new TokenService({
    url,
    tenantId,
    clients: options.clients ?? [EMULATOR_DEFAULTS.client],
    users: options.users ?? [EMULATOR_DEFAULTS.user],
    publicClientIds: options.publicClientIds ?? [EMULATOR_DEFAULTS.publicClientId],
    lifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    now: () => Date.now(),
  });
  const engine = new QueryEngine(store, {
    serviceRoot: `${url}${API_PATH}`,
    maxPageSize: options.maxPageSize ?? 5000,
    changeTracking,
    changeTokenTtlMs: (options.changeTokenTtlSeconds ?? 7 * 86_400) * 1000,
    now: () => Date.now(),
  });
  const faults = createFaults(faultState, tokens, store);
  server.on(
    'request',
    createRequestHandler({
      url,
      tenantId,
      store,
      engine,
      tokens,
      protection: new ServiceProtection(limits),
      stats,
      faults: faultState,
      changeTracking,
      control: createControlHandler(data, faults, stats),
    }),
  );

  return {
    url,
    authority: `${url}/${tenantId}`,
    tenantId,
    caPem: certificate.cert,
    caFile: certificate.certFile,
    data,
    faults,
    stats,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (certificate.tempDir) await rm(certificate.tempDir, { recursive: true, force: true });
    },
  };
}

/** Starts the emulator for `oppsync emulator` and prints where it is; runs until the process ends. */
export async function runEmulatorForever(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await startEmulator(options);
  const lines = [
    `Dataverse emulator listening`,
    `  DYNAMICS_URL=${emulator.url}`,
    `  DYNAMICS_AUTHORITY=${emulator.authority}`,
    `  DYNAMICS_TENANT_ID=${emulator.tenantId}`,
    `  NODE_EXTRA_CA_CERTS=${emulator.caFile}`,
    `  test hooks: ${emulator.url}/_emulator/stats, POST ${emulator.url}/_emulator/faults`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return emulator;
}
