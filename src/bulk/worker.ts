import type { Services } from '../fhir/services.js';
import { countFailure, deleteJob, expiredJobs, readJob, unfinishedJobs } from '../storage/bulk-tables.js';
import { storageFault } from '../storage/faults.js';
import { Lease } from '../storage/lease.js';
import { runImport } from './import-run.js';
import { JobCancelled, runExport, type RunHooks } from './run.js';

export interface ExportWorkerOptions extends RunHooks {
  /** How often the job table is looked at without a wake-up (jobs another node accepted, or left). */
  pollMs?: number;
  /** A job's lease: a node that dies holding it lets another resume the job after this. */
  leaseTtlMs?: number;
  /** A job that fails this many times (a bug, not a lost lease) is failed. */
  maxAttempts?: number;
  log?: (entry: Record<string, unknown>) => void;
}

/** The export worker of one process, running until `stop`. */
export interface ExportWorker {
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Runs the accepted export jobs, one at a time in this process, each under its lease (`bulk:<job>`):
 * one node at a time writes a job's files, and a job whose node died is resumed from its saved cursor
 * by whichever node takes the lease once it has expired. Also deletes the jobs past their expiry.
 */
export function startExportWorker(svc: Services, options: ExportWorkerOptions = {}): ExportWorker {
  return new Worker(svc, options);
}

class Worker implements ExportWorker {
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly off: () => void;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private again = false;
  private complained = 0;

  constructor(
    private readonly svc: Services,
    private readonly options: ExportWorkerOptions,
  ) {
    this.log = options.log ?? (() => undefined);
    this.off = svc.bulkSignal.on(() => this.wake());
    this.schedule(0);
  }

  wake(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.off();
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.again ? 0 : (this.options.pollMs ?? 1000));
        this.again = false;
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.purge();
      for (const id of await unfinishedJobs(this.svc.store.storage, 20)) {
        if (this.stopped) return;
        await this.run(id);
      }
    } catch (err) {
      // the database away (restarting): said once every 30 s; the next poll tries again
      if (Date.now() - this.complained > 30_000) {
        this.complained = Date.now();
        this.log({ level: 'error', msg: 'export jobs could not be read', error: String(err) });
      }
    }
  }

  /** Jobs and files past their expiry (the server's clock) go. */
  private async purge(): Promise<void> {
    const db = this.svc.store.storage;
    for (const id of await expiredJobs(db, this.svc.clock.now().getTime(), 100)) {
      await db.transaction((tx) => deleteJob(tx, id));
      this.log({ level: 'info', msg: 'export job expired and deleted', job: id });
    }
  }

  /** One job, if this node gets its lease (else another node runs it now). */
  private async run(id: string): Promise<void> {
    const db = this.svc.store.storage;
    let lease: Lease;
    try {
      lease = await Lease.acquire(db, `bulk:${id}`, { ttlMs: this.options.leaseTtlMs ?? 60_000, waitMs: 0 });
    } catch {
      return;
    }
    try {
      const job = await readJob(db, id);
      if (!job || (job.status !== 'accepted' && job.status !== 'in-progress')) return;
      // an import's plan says so; every other job is an export
      const kind = (JSON.parse(job.plan) as { kind?: string }).kind === 'import' ? 'import' : 'export';
      if (kind === 'import') await runImport(this.svc, job, lease, this.options);
      else await runExport(this.svc, job, lease, this.options);
      this.log({ level: 'info', msg: `${kind} job completed`, job: id });
    } catch (err) {
      if (!(err instanceof JobCancelled)) await this.failed(id, err);
    } finally {
      await lease.release();
    }
  }

  private async failed(id: string, err: unknown): Promise<void> {
    this.log({ level: 'error', msg: 'export job attempt failed', job: id, error: String(err) });
    // a lost lease is another node's run now, a database away a retry later: not failures of the job
    if (/lease was lost/.test(String(err)) || storageFault(err) === 'transient') return;
    const max = this.options.maxAttempts ?? 3;
    await this.svc.store.storage.transaction((tx) => countFailure(tx, id, max, String(err))).catch(() => undefined);
  }
}
