import { runEmulatorForever } from '../../emulator';
import { untilSignal } from '../context';

export async function emulatorCommand(options: { port?: string }): Promise<number> {
  const emulator = await runEmulatorForever({ port: options.port === undefined ? 0 : Number(options.port) });
  await untilSignal();
  await emulator.close();
  return 0;
}
