import { DEFAULT_UI_ORIGINS, startCodecServer } from '../../codec-server';
import { AesGcmPayloadCodec } from '../../shared/payload-codec';
import { commandContext, UsageError, untilSignal } from '../context';

export interface CodecServerCommandOptions {
  port?: string;
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
    options.origin !== undefined && options.origin.length > 0 ? options.origin : DEFAULT_UI_ORIGINS;
  const server = await startCodecServer({
    codec: AesGcmPayloadCodec.fromKey(config.payloadKeyId, config.payloadKey),
    port,
    allowedOrigins,
  });
  process.stdout.write(
    `Payload codec server listening at ${server.url} for ${allowedOrigins.join(', ')}\n` +
      `  start the UI with --ui-codec-endpoint http://localhost:${server.port}\n`,
  );
  logger.info({ url: server.url, keyId: config.payloadKeyId }, 'codec server started');
  await untilSignal();
  await server.close();
  return 0;
}
