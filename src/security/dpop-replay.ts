import type { Clock } from '../fhir/clock.js';
import { expireJtis } from '../storage/dpop-tables.js';
import type { Storage } from '../storage/types.js';
import { JtiBatches } from './jti-batches.js';

/** How often a node removes expired jtis (ms of the injected clock): one DELETE now and then, not per request. */
const EXPIRE_EVERY_MS = 60_000;

/** How many jtis this node remembers itself, in front of the database (a replay to this node costs no query). */
const SEEN_MAX = 100_000;

/**
 * RFC 9449 §11.1: a proof's `jti` is accepted once. The cache is the database's `dpop_jti` table, so
 * a proof replayed to another API node on the same database is refused there too: the table's primary
 * key decides between nodes. A jti needs keeping only while its proof's `iat` is still inside the
 * acceptance window: after that `iat` refuses it.
 *
 * In front of the table, this node's own recent jtis: a replay to the same node (or the same jti twice
 * in one batch) is refused without a query. The set is only a shortcut — forgetting one (it is bounded)
 * leaves the database to refuse it. New jtis are written in batches (jti-batches.ts), and a request is
 * answered only once its batch has committed.
 */
export class ReplayCache {
  private lastExpiry = 0;
  private readonly seen = new Map<string, number>();
  private readonly batches: JtiBatches;

  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
  ) {
    this.batches = new JtiBatches(storage);
  }

  /** True when the jti is new (and is now recorded until `expiresAt`, epoch seconds); false on a replay. */
  async firstUse(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    if (now - this.lastExpiry >= EXPIRE_EVERY_MS) this.expire(now);
    const key = `${jkt} ${jti}`;
    const known = this.seen.get(key);
    if (known !== undefined && known * 1000 >= now) return false;
    if (this.seen.size >= SEEN_MAX) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, expiresAt);
    try {
      return await this.batches.record(jkt, jti, expiresAt);
    } catch (err) {
      // not recorded: the client may send this proof again once the database is back
      this.seen.delete(key);
      throw err;
    }
  }

  private expire(now: number): void {
    this.lastExpiry = now;
    for (const [key, expires] of this.seen) if (expires * 1000 < now) this.seen.delete(key);
    // expiry must not hold up or fail the request it runs in: the next one tries again
    void expireJtis(this.storage, Math.floor(now / 1000)).catch(() => (this.lastExpiry = 0));
  }
}
