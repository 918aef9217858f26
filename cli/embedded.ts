import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AppConfig } from '../config';
import type { DynamicsAuthConfig } from '../dynamics';
import { startCodecServer, type CodecServer } from '../temporal';
import { startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import type { MarketoConnection } from '../marketo';
import { startMarketoEmulator, type MarketoEmulator } from '@oppsync/marketo-emulator';
import { AesGcmPayloadCodec } from '../temporal';
import type { Logger } from '../logging';
import { startDevServer, type DevServer } from '../temporal';
import { configuredDynamics, configuredMarketo } from './context';

/** The demo's embedded pieces: a Temporal dev server and the bundled emulator, each only when not configured. */
export interface EmbeddedEnvironment {
  config: AppConfig;
  dynamics: DynamicsAuthConfig;
  /** Where the worker pushes: MARKETO_REST_URL, or else the bundled Marketo emulator. */
  marketo: MarketoConnection;
  devServer?: DevServer;
  emulator?: Emulator;
  marketoEmulator?: MarketoEmulator;
  /** Decrypts payloads for the Temporal UI when OPPSYNC_PAYLOAD_KEY is set. */
  codecServer?: CodecServer;
  stop(): Promise<void>;
}

export async function startEmbedded(
  config: AppConfig,
  logger: Logger,
  dataDir = 'data',
): Promise<EmbeddedEnvironment> {
  fs.mkdirSync(dataDir, { recursive: true });
  let devServer: DevServer | undefined;
  let emulator: Emulator | undefined;
  let marketoEmulator: MarketoEmulator | undefined;
  let codecServer: CodecServer | undefined;
  try {
    if (config.payloadKey !== undefined) {
      // Encrypted history is unreadable in the UI unless it can reach a codec server holding the key.
      codecServer = await startCodecServer({
        codec: AesGcmPayloadCodec.fromKey(config.payloadKeyId, config.payloadKey),
        port: 8888,
      });
    }
    if (!config.temporal.addressFromEnv) {
      const serverLog = fs.createWriteStream(path.join(dataDir, 'temporal-server.log'), { flags: 'a' });
      devServer = await startDevServer({
        mode: 'demo',
        dbFile: path.join(dataDir, 'temporal.sqlite'),
        namespace: config.temporal.namespace,
        ...(codecServer === undefined ? {} : { codecEndpoint: `http://localhost:${codecServer.port}` }),
        onOutput: (line) => serverLog.write(`${line}\n`),
      });
      logger.info({ address: devServer.address, ui: devServer.uiUrl }, 'Temporal dev server started');
    }
    let dynamics: DynamicsAuthConfig;
    if (config.dynamics.url !== undefined) {
      dynamics = configuredDynamics(config.dynamics);
    } else {
      // A demo application registration, made up at each start: its secret lives only in this process.
      const app = { clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') };
      emulator = await startEmulator({
        dataset: 'demo',
        clients: [app],
        certDir: path.join(dataDir, 'emulator'),
      });
      dynamics = {
        url: emulator.url,
        tenantId: emulator.tenantId,
        authority: emulator.authority,
        ...app,
        ca: emulator.caPem,
      };
      logger.info({ url: emulator.url }, 'bundled Dynamics emulator started with the demo organisation');
    }
    let marketo = configuredMarketo(config.marketo);
    if (marketo === undefined) {
      const app = { clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') };
      marketoEmulator = await startMarketoEmulator({
        ...app,
        certDir: path.join(dataDir, 'marketo-emulator'),
      });
      marketo = { url: marketoEmulator.url, ...app, ca: marketoEmulator.caPem };
      logger.info({ url: marketoEmulator.url }, 'bundled Marketo emulator started');
    }
    const effective: AppConfig = Object.freeze({
      ...config,
      temporal: Object.freeze({ ...config.temporal, address: devServer?.address ?? config.temporal.address }),
    });
    return {
      config: effective,
      dynamics,
      marketo,
      devServer,
      emulator,
      marketoEmulator,
      codecServer,
      async stop() {
        await marketoEmulator?.close();
        await emulator?.close();
        await devServer?.stop();
        await codecServer?.close();
      },
    };
  } catch (error) {
    await marketoEmulator?.close();
    await emulator?.close();
    await devServer?.stop();
    await codecServer?.close();
    throw error;
  }
}
