/**
 * The bundled Marketo REST API emulator: one HTTPS server on 127.0.0.1 with a self-signed certificate, an
 * in-memory instance (companies, leads, opportunities, opportunity roles), Marketo's limits, and test hooks
 * (data, faults, stats) in-process and over HTTP. Behaviour follows notes/marketo-rest-api.md; where the
 * documentation is silent it takes the strict choice (README.md lists them).
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { loadOrCreateCertificate } from '@oppsync/dataverse-emulator';
import { createControlHandler } from './control';
import { createFaults, createFaultState } from './faults';
import { Limits } from './limits';
import { createRoutes } from './routes';
import { buildSchemas } from './schema';
import { createRequestHandler } from './server';
import { createStats } from './stats';
import { MarketoStore } from './store';
import { TokenService } from './tokens';
import type { MarketoEmulator, MarketoEmulatorData, MarketoEmulatorOptions } from './types';

export type {
  CustomFieldOption,
  FailNextOptions,
  MarketoEmulator,
  MarketoEmulatorData,
  MarketoEmulatorFaults,
  MarketoEmulatorOptions,
  MarketoEmulatorStats,
  MarketoLimits,
  MarketoLogEntry,
  MarketoObject,
  MarketoRecord,
  SkipPredicate,
  SkipReason,
} from './types';

/** Credentials and account id the emulator uses when the options name none (the demo uses them). */
export const MARKETO_EMULATOR_DEFAULTS = {
  clientId: 'oppsync-marketo-client',
  clientSecret: 'oppsync-marketo-secret',
  munchkinId: '123-ABC-456',
} as const;

function createData(store: MarketoStore): MarketoEmulatorData {
  return {
    companies: () => store.all('company'),
    leads: () => store.all('lead'),
    opportunities: () => store.all('opportunity'),
    roles: () => store.all('role'),
    clear: () => store.clear(),
  };
}

export async function startMarketoEmulator(options: MarketoEmulatorOptions = {}): Promise<MarketoEmulator> {
  const clientId = options.clientId ?? MARKETO_EMULATOR_DEFAULTS.clientId;
  const clientSecret = options.clientSecret ?? MARKETO_EMULATOR_DEFAULTS.clientSecret;
  const store = new MarketoStore(buildSchemas(options));
  const data = createData(store);
  const faultState = createFaultState(options);
  const limits = new Limits(
    {
      ...(options.maxCallsPer20s === undefined ? {} : { maxCallsPer20s: options.maxCallsPer20s }),
      ...(options.maxConcurrent === undefined ? {} : { maxConcurrent: options.maxConcurrent }),
      ...(options.dailyQuota === undefined ? {} : { dailyQuota: options.dailyQuota }),
    },
    options.rateWindowMs ?? 20_000,
  );
  const tokens = new TokenService(
    { clientId, clientSecret },
    options.tokenLifetimeSeconds ?? 3600,
    `apis@${MARKETO_EMULATOR_DEFAULTS.munchkinId.toLowerCase()}.emulator.example`,
  );
  const stats = createStats();
  const faults = createFaults(faultState, limits, tokens);
  const certificate = await loadOrCreateCertificate(options.certDir, 'oppsync Marketo emulator');

  const server = createServer(
    { cert: certificate.cert, key: certificate.key, maxHeaderSize: 64 * 1024 },
    createRequestHandler({
      tokens,
      limits,
      faults: faultState,
      stats,
      routes: createRoutes({ store, faults: faultState }),
      control: createControlHandler(data, faults, stats, limits),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    caPem: certificate.cert,
    caFile: certificate.certFile,
    clientId,
    clientSecret,
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

/** Starts the emulator for `oppsync marketo-emulator` and prints where it is; stops on SIGINT/SIGTERM. */
export async function runMarketoEmulatorForever(
  options: MarketoEmulatorOptions = {},
): Promise<MarketoEmulator> {
  const emulator = await startMarketoEmulator(options);
  const lines = [
    `Marketo REST emulator listening`,
    `  MARKETO_REST_URL=${emulator.url}`,
    `  MARKETO_CLIENT_ID=${emulator.clientId}`,
    `  MARKETO_CLIENT_SECRET=${emulator.clientSecret}`,
    `  NODE_EXTRA_CA_CERTS=${emulator.caFile}`,
    `  test hooks: GET ${emulator.url}/_emulator/stats, POST ${emulator.url}/_emulator/faults,`,
    `              GET ${emulator.url}/_emulator/data/<companies|leads|opportunities|roles>`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return emulator;
}
