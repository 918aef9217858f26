/** The page writer thread (see page-writer-thread.ts): its own connection, one page transaction at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { MarketoStore } from './marketo-store';
import type { ThreadError, WriterReply, WriterRequest } from './page-writer-thread';

function describe(error: unknown): ThreadError {
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

async function serve(port: NonNullable<typeof parentPort>, url: string): Promise<void> {
  const reply = (message: WriterReply): void => port.postMessage(message);
  let store: MarketoStore;
  try {
    store = await MarketoStore.open(url);
  } catch (error) {
    reply({ kind: 'opened-failed', error: describe(error) });
    return;
  }
  // One write at a time, in the order they came: a page's transaction never overlaps the next one's.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (request: WriterRequest) => {
    if (request.kind === 'close') {
      queue = queue.then(async () => {
        await store.close();
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        reply({ kind: 'written', id: request.id, counts: await store.writePage(request.page, request.now) });
      } catch (error) {
        reply({ kind: 'failed', id: request.id, error: describe(error) });
      }
    });
  });
  reply({ kind: 'ready' });
}

if (parentPort !== null) void serve(parentPort, (workerData as { url: string }).url);
