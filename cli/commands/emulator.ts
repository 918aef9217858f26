import { randomBytes, randomUUID } from 'node:crypto';
import { runEmulatorForever } from '@oppsync/dataverse-emulator';
import { untilSignal } from '../context';

/**
 * The bundled emulator alone, e.g. for a worker in another terminal. It registers a demo application made
 * up at start and prints the settings a worker needs; the secret is the emulator's own, valid only here.
 */
export async function emulatorCommand(options: { port?: string }): Promise<number> {
  const app = { clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') };
  const emulator = await runEmulatorForever({
    port: options.port === undefined ? 0 : Number(options.port),
    clients: [app],
  });
  process.stdout.write(
    `  DYNAMICS_CLIENT_ID=${app.clientId}\n  DYNAMICS_CLIENT_SECRET=${app.clientSecret}\n`,
  );
  await untilSignal();
  await emulator.close();
  return 0;
}
