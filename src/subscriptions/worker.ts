import type { Services } from '../fhir/services.js';
import { Lease } from '../storage/lease.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { deliverSubscription, type DeliveryOptions } from './deliver.js';
import { dueOnSockets, dueSubscriptions, purgeDelivered } from '../storage/subscription-tables.js';

export interface WorkerOptions extends Partial<DeliveryOptions> {
  /** How often the outbox is looked at without a wake-up (events another node committed; retries due). */
  pollMs?: number;
  /** The most subscriptions delivered to at once by this process. */
  concurrency?: number;
  /** A subscription's lease: a node that dies holding it lets another take over after this. */
  leaseTtlMs?: number;
  /** How often delivered events past the retention period are deleted (default every minute). */
  purgeMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

/** The delivery worker of one process, running until `stop`. */
export interface DeliveryWorker {
  /** Looks at the outbox now (a commit recorded events). */
  wake(): void;
  /** Stops looking, and waits for the runs under way to end. */
  stop(): Promise<void>;
}

/**
 * Delivers the outbox: polls `subscription_state` for subscriptions with work due (and is woken by
 * commits in this process), and runs each in a task of its own under its lease — so a dead endpoint
 * holds up only its own subscription, and one node at a time delivers each, in order.
 */
export function startDelivery(svc: Services, options: WorkerOptions = {}): DeliveryWorker {
  return new Worker(svc, options);
}

class Worker implements DeliveryWorker {
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly delivery: DeliveryOptions;
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly running = new Map<string, Promise<void>>();
  private readonly rerun = new Set<string>();
  private readonly off: () => void;
  private readonly stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private ticking = false;
  private again = false;
  private purged = 0;
  private complained = 0;

  constructor(
    private readonly svc: Services,
    private readonly options: WorkerOptions,
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.concurrency = options.concurrency ?? 32;
    this.delivery = {
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      batch: options.batch ?? 100,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      stop: this.stopping.signal,
    };
    this.log = options.log ?? (() => undefined);
    this.off = svc.subscriptionSignal.on(() => this.schedule(0));
    this.schedule(0);
  }

  wake(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.off();
    clearTimeout(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    this.again = false;
    try {
      await this.purge();
      const clockNow = this.svc.clock.now().getTime();
      const limit = this.concurrency + this.running.size;
      const db = this.svc.store.storage;
      const due = await dueSubscriptions(db, Date.now(), clockNow, limit);
      // websocket subscriptions are delivered by the node their socket is bound to: this one, for these
      due.push(...(await dueOnSockets(db, this.svc.subscriptionSignal.sockets.boundIds(), Date.now())));
      for (const id of due) {
        if (this.running.size >= this.concurrency) break;
        // due again while its run ends (a write just after the last one it sent): looked at once that run is
        // over, not a poll later
        if (this.running.has(id)) this.rerun.add(id);
        else this.launch(id);
      }
    } catch (err) {
      // the database away (restarting): said once every 30 s, not at every poll; the next poll tries again
      if (Date.now() - this.complained > 30_000) {
        this.complained = Date.now();
        this.log({ level: 'error', msg: 'subscription outbox could not be read', error: String(err) });
      }
    } finally {
      this.ticking = false;
      this.schedule(this.again ? 0 : this.pollMs);
    }
  }

  /** Now and then (wall-clock), the delivered events older than the retention period go. */
  private async purge(): Promise<void> {
    if (Date.now() - this.purged < (this.options.purgeMs ?? 60_000)) return;
    this.purged = Date.now();
    const before = this.svc.clock.now().getTime() - this.svc.subscriptions.retentionMs;
    const removed = await this.svc.store.storage.transaction((tx) => purgeDelivered(tx, before));
    if (removed) this.log({ level: 'info', msg: 'subscription events past retention deleted', removed });
  }

  private launch(id: string): void {
    const task = this.run(id)
      .catch((err) =>
        this.log({ level: 'error', msg: 'subscription delivery failed', subscription: id, error: String(err) }),
      )
      .finally(() => {
        this.running.delete(id);
        if (this.rerun.delete(id) || this.again) this.schedule(0);
      });
    this.running.set(id, task);
  }

  /** One subscription's run, if this node gets its lease (else another node delivers it now). */
  private async run(id: string): Promise<void> {
    let lease: Lease;
    try {
      const ttlMs = this.options.leaseTtlMs ?? 60_000;
      lease = await Lease.acquire(this.svc.store.storage, `subscription:${id}`, { ttlMs, waitMs: 0 });
    } catch {
      return; // held by another node (or the database is away: the next tick tries again)
    }
    try {
      if (await deliverSubscription(this.svc, id, lease, this.delivery)) this.again = true;
    } finally {
      await lease.release();
    }
  }
}
