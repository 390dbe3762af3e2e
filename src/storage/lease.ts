import { randomUUID } from 'node:crypto';
import { storageFault } from './faults.js';
import type { Storage, Tx } from './types.js';

export interface LeaseOptions {
  /** How long a lease lasts unless renewed: a holder that dies lets it go after this. */
  ttlMs?: number;
  /** How long to wait for a lease another holder has before giving up. */
  waitMs?: number;
  pollMs?: number;
}

/**
 * A named lease in the database: one holder at a time, across every process on the database, for a
 * job longer than a transaction should be (a registry report is built over a snapshot, and written in
 * one short transaction at its end). Renewed while held; a holder that dies loses it when it expires,
 * so the next run goes ahead. Expiry is wall-clock time, not the injected business clock: it measures
 * how long a process has been silent, and processes with different clocks (tests) share the table.
 */
export class Lease {
  private lost = false;
  private readonly renewal: NodeJS.Timeout;

  private constructor(
    private readonly storage: Storage,
    readonly name: string,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {
    this.renewal = setInterval(() => void this.renew(), Math.max(50, ttlMs / 3));
    this.renewal.unref();
  }

  /**
   * Waits (polling) until the lease is free or expired, then holds it; throws after `waitMs`. A
   * database that is away for a moment (restarting) is waited for like a lease held by another.
   */
  static async acquire(storage: Storage, name: string, options: LeaseOptions = {}): Promise<Lease> {
    const ttlMs = options.ttlMs ?? 60_000;
    const waitMs = options.waitMs ?? 15 * 60_000;
    const holder = randomUUID();
    const until = Date.now() + waitMs;
    for (;;) {
      const now = Date.now();
      let taken: boolean;
      try {
        taken = (await Lease.take(storage, name, holder, now, ttlMs)) === 1;
      } catch (err) {
        if (storageFault(err) !== 'transient' || now >= until) throw err;
        taken = false;
      }
      if (taken) return new Lease(storage, name, holder, ttlMs);
      if (now >= until) throw new Error(`${name} is held by another run (waited ${Math.round(waitMs / 1000)} s)`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  }

  /** Takes the lease if it is free or expired: 1 when taken, 0 when another holds it. */
  private static async take(storage: Storage, name: string, holder: string, now: number, ttl: number): Promise<number> {
    const { changes } = await storage.transaction((tx) =>
      tx.run(
        `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
         WHERE leases.expires < ?`,
        [name, holder, now + ttl, now],
      ),
    );
    return changes;
  }

  /** In the transaction that writes the job's result: still ours (renewed), or the transaction fails. */
  async hold(tx: Tx): Promise<void> {
    const changes = await this.extend(tx);
    if (changes !== 1 || this.lost)
      throw new Error(`${this.name}: the lease was lost (this run was silent longer than ${this.ttlMs} ms)`);
  }

  /** Lets the lease go. If the database cannot be told (it restarts), the lease simply expires after its ttl. */
  async release(): Promise<void> {
    clearInterval(this.renewal);
    try {
      const sql = `DELETE FROM leases WHERE name = ? AND holder = ?`;
      await this.storage.transaction((tx) => tx.run(sql, [this.name, this.holder]));
    } catch (err) {
      if (storageFault(err) !== 'transient') throw err;
    }
  }

  /** Moves the expiry on, if the lease is still ours: the number of rows changed (1, or 0 when lost). */
  private async extend(tx: Tx): Promise<number> {
    return (
      await tx.run(`UPDATE leases SET expires = ? WHERE name = ? AND holder = ?`, [
        Date.now() + this.ttlMs,
        this.name,
        this.holder,
      ])
    ).changes;
  }

  private async renew(): Promise<void> {
    try {
      if ((await this.storage.transaction((tx) => this.extend(tx))) !== 1) this.lost = true;
    } catch {
      // a failed renewal (the database restarting) is tried again at the next tick, ttl/3 later:
      // an outage shorter than two thirds of the ttl keeps the lease; hold() decides in the end
    }
  }
}
