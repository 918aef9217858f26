import { startCodecServer } from '../../temporal';
import { AesGcmPayloadCodec } from '../../temporal';
import { commandContext, UsageError, untilSignal } from '../context';

export interface CodecServerCommandOptions {
  port?: string;
  host?: string;
  origin?: string[];
}

/** Serves the payload codec for the Temporal UI (`--ui-codec-endpoint`) until SIGINT/SIGTERM. */
export async function codecServerCommand(options: CodecServerCommandOptions): Promise<number> {
  const { config, logger } = commandContext('codec-server');
  if (config.payloadKey === undefined)
    throw new UsageError('OPPSYNC_PAYLOAD_KEY is not set: there are no encrypted payloads to decode');
  const port = Number(options.port ?? '8888');
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port must be a port number, got '${options.port}'`);
  const allowedOrigins =
    options.origin !== undefined && options.origin.length > 0
      ? options.origin
      : config.operations.codecOrigins;
  const token = config.operations.codecToken;
  const server = await startCodecServer({
    codec: AesGcmPayloadCodec.fromKey(config.payloadKeyId, config.payloadKey),
    port,
    host: options.host ?? '127.0.0.1',
    allowedOrigins,
    token,
  }).catch((error: unknown) => {
    if ((error as Error).name === 'CodecServerConfigError') throw new UsageError((error as Error).message);
    throw error;
  });
  process.stdout.write(
    `Payload codec server listening at ${server.url} for ${allowedOrigins.join(', ')}` +
      `${token === undefined ? '' : ' (bearer token required)'}\n` +
      `  start the UI with --ui-codec-endpoint ${server.url}\n`,
  );
  logger.info(
    { url: server.url, keyId: config.payloadKeyId, token: token !== undefined },
    'codec server started',
  );
  await untilSignal();
  await server.close();
  return 0;
}
