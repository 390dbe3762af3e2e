import type { Clock } from '../fhir/clock.js';
import { expireJtis, recordJti } from '../storage/dpop-tables.js';
import type { Storage } from '../storage/types.js';

/** How often a node removes expired jtis (ms of the injected clock): one DELETE now and then, not per request. */
const EXPIRE_EVERY_MS = 60_000;

/**
 * RFC 9449 §11.1: a proof's `jti` is accepted once. The cache is the database's `dpop_jti` table, so
 * a proof replayed to another API node on the same database is refused there too. A jti needs keeping
 * only while its proof's `iat` is still inside the acceptance window: after that `iat` refuses it.
 */
export class ReplayCache {
  private lastExpiry = 0;

  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
  ) {}

  /** True when the jti is new (and is now recorded until `expiresAt`, epoch seconds); false on a replay. */
  async firstUse(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    if (now - this.lastExpiry >= EXPIRE_EVERY_MS) {
      this.lastExpiry = now;
      // expiry must not hold up or fail the request it runs in: the next one tries again
      void expireJtis(this.storage, Math.floor(now / 1000)).catch(() => (this.lastExpiry = 0));
    }
    return recordJti(this.storage, jkt, jti, expiresAt);
  }
}
