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

/**
 * The writer's old generation starts bounded: its live set is one page's rows (15-25 MiB at 5,000 opportunities)
 * and, unbounded, V8 lets the garbage of earlier pages grow its heap to about 120 MiB before collecting it (the
 * benchmark's worker peaks about 40 MiB lower with this bound). A page too large for the bound is not lost: the
 * thread runs out of memory, that write fails as retryable, and the next write starts a thread with twice the
 * bound (see PageWriterThread.writePage).
 */
export const WRITER_OLD_GENERATION_MB = 64;

/**
 * The writer's young generation: a page it is given outlives many scavenges (it is written for half a second),
 * so a large nursery only holds garbage; 8 MiB instead of V8's 32 took another 25 MiB off the benchmark's
 * worker peak with no change in time (2026-12-03, bench/results/README.md).
 */
export const WRITER_YOUNG_GENERATION_MB = 8;

/** The error a write gets when the thread it was sent to ran out of memory. */
export const WRITER_OUT_OF_MEMORY = 'ERR_WORKER_OUT_OF_MEMORY';

const threadExited = (code: number): Error => new Error(`the page writer thread exited (code ${code})`);

/** Starts a thread on the SQLite store at `url` and waits until its connection is open. */
async function startThread(url: string, oldGenerationMb: number): Promise<Worker> {
  const worker = new Worker(threadScript(), {
    workerData: { url },
    resourceLimits: {
      maxOldGenerationSizeMb: oldGenerationMb,
      maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB,
    },
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (reply: WriterReply): void => {
      if (reply.kind === 'ready') resolve();
      else if (reply.kind === 'opened-failed') reject(errorFromThread(reply.error));
      else return;
      worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(threadExited(code)));
  });
  return worker;
}

export class PageWriterThread {
  private readonly pending = new Map<
    number,
    { resolve: (counts: WriteCounts) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  /** Set once the thread is gone: writes fail with it until a write starts a new thread (not after close). */
  private gone: Error | undefined;
  private closed = false;
  private exited!: Promise<void>;
  /** A new thread being started after the last one died, shared by the writes that wait for it. */
  private restarting: Promise<void> | undefined;

  private constructor(
    private readonly url: string,
    private oldGenerationMb: number,
    private worker: Worker,
  ) {
    this.attach(worker);
  }

  /** Starts the thread on the SQLite store at `url` and waits until its connection is open. */
  static async start(url: string, oldGenerationMb = WRITER_OLD_GENERATION_MB): Promise<PageWriterThread> {
    return new PageWriterThread(url, oldGenerationMb, await startThread(url, oldGenerationMb));
  }

  /** The bound of the current thread's old generation, in MiB (doubled after it ran out of memory). */
  get heapBoundMb(): number {
    return this.oldGenerationMb;
  }

  /**
   * The page written on the thread (writePage's transactions); resolves once it is committed. A thread that
   * died (a write that ran it out of memory, a crash) is replaced by the next write, so one bad moment does not
   * fail every later page of a long-running worker; the write that was under way failed as retryable, its own
   * transaction rolled back.
   */
  async writePage(page: WritePageInput, now: string): Promise<WriteCounts> {
    if (this.gone !== undefined && !this.closed) {
      this.restarting ??= this.restart().finally(() => (this.restarting = undefined));
      await this.restarting;
    }
    if (this.gone !== undefined) throw this.gone;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WriterRequest = { kind: 'write', id, page, now };
      this.worker.postMessage(request);
    });
  }

  /** Lets the write in progress finish, closes the thread's connection and waits for the thread to end. */
  async close(): Promise<void> {
    this.closed = true;
    await this.restarting?.catch(() => undefined);
    if (this.gone === undefined) {
      const request: WriterRequest = { kind: 'close' };
      this.worker.postMessage(request);
    }
    await this.exited;
  }

  private async restart(): Promise<void> {
    const worker = await startThread(this.url, this.oldGenerationMb);
    if (this.closed) {
      await worker.terminate();
      return;
    }
    this.worker = worker;
    this.gone = undefined;
    this.attach(worker);
  }

  private attach(worker: Worker): void {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    // A thread that died and was replaced still ends ('exit' after 'error'): only the current one counts.
    const current = (): boolean => worker === this.worker;
    worker.on('message', (reply: WriterReply) => {
      if (!current() || (reply.kind !== 'written' && reply.kind !== 'failed')) return;
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.kind === 'written') waiting?.resolve(reply.counts);
      else waiting?.reject(errorFromThread(reply.error));
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (!current()) return;
      if (error.code !== WRITER_OUT_OF_MEMORY) return this.fail(error);
      const bound = this.oldGenerationMb;
      this.oldGenerationMb = bound * 2;
      const outOfMemory = new Error(
        `the page writer thread ran out of memory at its ${bound} MiB heap bound; the next write starts it with ${bound * 2} MiB`,
      ) as Error & { code?: string };
      outOfMemory.code = WRITER_OUT_OF_MEMORY;
      this.fail(outOfMemory);
    });
    worker.once('exit', (code) => current() && this.fail(threadExited(code)));
  }

  private fail(error: Error): void {
    this.gone ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
