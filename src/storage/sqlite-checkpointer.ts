import { Worker } from 'node:worker_threads';

/** The least time between two checkpoints: the WAL holds at most about this long of writes. */
const DEFAULT_EVERY_MS = 1_000;

/**
 * Checkpoints of the SQLite write-ahead log on a thread of their own (issue 21). SQLite's automatic
 * checkpoint runs inside the COMMIT that crosses 1,000 pages, on the writer's thread — the event loop —
 * copying megabytes and syncing the database file while every request waits; profiled, it was a
 * quarter of `$apply`'s time. The writer turns it off (`wal_autocheckpoint = 0`) and, after commits,
 * asks this thread for a PASSIVE checkpoint at most once per `everyMs`: it copies what no reader
 * still needs while the event loop goes on. The thread starts with the first commit that asks, so a
 * short-lived storage (a command, a test) starts none. If the thread fails, `onFail` puts SQLite's
 * own checkpoints back.
 */
export class SqliteCheckpointer {
  private worker?: Worker;
  private running = false;
  private last = 0;
  private failed = false;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    private readonly onFail: (err: unknown) => void,
    private readonly everyMs = DEFAULT_EVERY_MS,
  ) {}

  /** After a commit: a checkpoint if none runs and the last one is `everyMs` old (the first waits too). */
  afterCommit(): void {
    const now = Date.now();
    if (this.failed || this.running) return;
    if (!this.last) this.last = now;
    if (now - this.last < this.everyMs) return;
    this.running = true;
    this.last = now;
    this.thread().postMessage('checkpoint');
  }

  /** Stops the thread (the last connection's close checkpoints what is left). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // unref'd while it serves; now something awaits its exit, so it must keep the process alive until then
    worker.ref();
    worker.postMessage('close');
    await exited;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
      workerData: { file: this.file, busyTimeoutMs: this.busyTimeoutMs },
    });
    worker.unref();
    worker.on('message', (m: { ok: boolean; error?: string }) => {
      this.running = false;
      // a busy database (a backup, another process) fails one checkpoint; the next one tries again
      if (!m.ok && !/SQLITE_BUSY|SQLITE_LOCKED/.test(m.error ?? '')) this.fail(new Error(m.error));
    });
    worker.on('error', (err) => this.fail(err));
    this.worker = worker;
    return worker;
  }

  private fail(err: unknown): void {
    this.failed = true;
    this.running = false;
    this.worker = undefined;
    this.onFail(err);
  }
}
