import { runMarketoEmulatorForever } from '@oppsync/marketo-emulator';
import { untilSignal } from '../context';

/**
 * The bundled Marketo REST emulator alone, e.g. for a worker in another terminal; it prints the settings the
 * worker needs (MARKETO_REST_URL, the client id and secret, the CA file) and the test hooks.
 */
export async function marketoEmulatorCommand(options: { port?: string }): Promise<number> {
  const emulator = await runMarketoEmulatorForever({
    port: options.port === undefined ? 0 : Number(options.port),
  });
  await untilSignal();
  await emulator.close();
  return 0;
}
