import { closeSync, fdatasync, openSync } from 'node:fs';
import { promisify } from 'node:util';

const datasync = promisify(fdatasync);
const noop = () => undefined;

/**
 * The fsync of an SQLite database's write-ahead log, off the event loop (issue 21). The writer commits
 * with `synchronous = NORMAL` — the COMMIT appends its frames to the WAL without waiting for the disk —
 * and the storage answers the transaction's callers only once this has made those frames durable: the
 * same guarantee as `synchronous = FULL` (which syncs the WAL at every commit), but the disk wait runs
 * on libuv's thread pool while the event loop serves other requests and the next group of
 * transactions runs. On Linux an fsync through any descriptor flushes the file (the inode), so a
 * descriptor of our own serves. SQLite itself syncs the WAL before each checkpoint in NORMAL mode.
 */
export class WalSync {
  private fd?: number;
  private running?: Promise<void>;
  private next?: Promise<void>;

  constructor(private readonly walPath: string) {}

  /**
   * Resolves once everything committed before the call is on disk. Calls made while a sync runs share
   * one more sync after it (the running one may have started before their frames were written).
   */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.run().finally(() => (this.running = undefined));
      return this.running;
    }
    this.next ??= this.running.then(
      () => this.afterRunning(),
      () => this.afterRunning(),
    );
    return this.next;
  }

  /** Whether a sync is running. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Resolves when no sync is running (at once when none is). The writer's open group waits here before
   * its COMMIT, so the transactions that arrive during a sync share it (SqliteStorage.joinable).
   */
  settled(): Promise<void> {
    const running = this.next ?? this.running;
    return running ? running.then(noop, noop) : Promise.resolve();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private afterRunning(): Promise<void> {
    this.next = undefined;
    return this.sync();
  }

  private async run(): Promise<void> {
    // the WAL exists from the first commit on, and stays while the database is open (the same inode)
    this.fd ??= openSync(this.walPath, 'r');
    await datasync(this.fd);
  }
}
