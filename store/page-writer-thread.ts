/**
 * SQLite page writes on a thread of their own. better-sqlite3 runs every statement synchronously, so on the
 * worker's main thread a page's transaction (about half a second at 5,000 opportunities) stops everything else:
 * parsing the next page, resolving it, heartbeats. On this thread the main thread reads and resolves the
 * next page while the store writes the current one. Same writer, same transaction, its own connection.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { StoreError } from './errors';
import type { WriteCounts, WritePageInput } from './types';

/** What crosses from the thread when a write fails: enough to classify it as the same error would be. */
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
}

export type WriterRequest =
  { kind: 'write'; id: number; page: WritePageInput; now: string } | { kind: 'close' };

export type WriterReply =
  | { kind: 'ready' }
  | { kind: 'opened-failed'; error: ThreadError }
  | { kind: 'written'; id: number; counts: WriteCounts }
  | { kind: 'failed'; id: number; error: ThreadError };

/** The thread's entry: compiled next to this file; under jest (TypeScript sources) the build's copy. */
function threadScript(): string {
  const candidates = [
    path.join(__dirname, 'page-writer-worker.js'),
    path.resolve(__dirname, '..', 'dist', 'store', 'page-writer-worker.js'),
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (found === undefined)
    throw new StoreError(
      'STORE_WRITER_UNAVAILABLE',
      `the page writer thread's script is missing (looked for ${candidates.join(', ')}); run npm run build`,
    );
  return found;
}

/** An error from the thread as an Error with the same name, code and message (classified as before). */
export function errorFromThread(error: ThreadError): Error {
  const rebuilt = new Error(error.message) as Error & { code?: string };
  rebuilt.name = error.name;
  if (error.code !== undefined) rebuilt.code = error.code;
  return rebuilt;
}

export class PageWriterThread {
  private readonly pending = new Map<
    number,
    { resolve: (counts: WriteCounts) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  /** Set once the thread is gone: every later write fails with it (retryable, like a lost connection). */
  private gone: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: WriterReply) => {
      if (reply.kind !== 'written' && reply.kind !== 'failed') return;
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.kind === 'written') waiting?.resolve(reply.counts);
      else waiting?.reject(errorFromThread(reply.error));
    });
    worker.on('error', (error) => this.fail(error));
    worker.once('exit', (code) => this.fail(new Error(`the page writer thread exited (code ${code})`)));
  }

  /** Starts the thread on the SQLite store at `url` and waits until its connection is open. */
  static async start(url: string): Promise<PageWriterThread> {
    const worker = new Worker(threadScript(), { workerData: { url } });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: WriterReply): void => {
        if (reply.kind === 'ready') resolve();
        else if (reply.kind === 'opened-failed') reject(errorFromThread(reply.error));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the page writer thread exited (code ${code})`)));
    });
    return new PageWriterThread(worker);
  }

  /** The page in one transaction on the thread; resolves once it is committed. */
  writePage(page: WritePageInput, now: string): Promise<WriteCounts> {
    if (this.gone !== undefined) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WriterRequest = { kind: 'write', id, page, now };
      this.worker.postMessage(request);
    });
  }

  /** Lets the write in progress finish, closes the thread's connection and waits for the thread to end. */
  async close(): Promise<void> {
    if (this.gone === undefined) {
      const request: WriterRequest = { kind: 'close' };
      this.worker.postMessage(request);
    }
    await this.exited;
  }

  private fail(error: Error): void {
    this.gone ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
