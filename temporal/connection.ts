import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { AppConfig, TemporalConfig } from '../config';
import { AesGcmPayloadCodec } from './payload-codec';

/** Connection options for a dev server, a self-hosted cluster (mTLS) or Temporal Cloud (mTLS or API key). */
export function temporalConnectionOptions(temporal: TemporalConfig): {
  address: string;
  apiKey?: string;
  tls?: TLSConfig;
} {
  const tls = temporal.tls;
  return {
    address: temporal.address,
    apiKey: temporal.apiKey,
    tls:
      tls === undefined
        ? undefined
        : {
            serverNameOverride: tls.serverName,
            serverRootCACertificate:
              tls.serverRootCaPath === undefined ? undefined : fs.readFileSync(tls.serverRootCaPath),
            clientCertPair:
              tls.clientCertPath === undefined || tls.clientKeyPath === undefined
                ? undefined
                : { crt: fs.readFileSync(tls.clientCertPath), key: fs.readFileSync(tls.clientKeyPath) },
          },
  };
}

/** Encrypts payloads when OPPSYNC_PAYLOAD_KEY is set; the worker and every client must agree on it. */
export function dataConverter(
  config: Pick<AppConfig, 'payloadKey' | 'payloadKeyId'>,
): DataConverter | undefined {
  if (config.payloadKey === undefined) return undefined;
  return { payloadCodecs: [AesGcmPayloadCodec.fromKey(config.payloadKeyId, config.payloadKey)] };
}

export async function connectClient(config: AppConfig): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverter(config),
  });
  return { client, connection };
}
