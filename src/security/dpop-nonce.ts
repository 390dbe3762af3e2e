import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../fhir/clock.js';

/** How long one nonce is handed out; the one before it is still accepted (a client's request in flight). */
const NONCE_PERIOD_MS = 5 * 60_000;

/**
 * Server-provided DPoP nonces (RFC 9449 §9): derived from a secret all API nodes share and the current
 * five-minute period, so every node hands out and accepts the same nonce without a shared store.
 */
export class DpopNonces {
  private readonly secret: Buffer;

  constructor(
    secret: string,
    private readonly clock: Clock,
  ) {
    this.secret = Buffer.from(secret, 'utf8');
  }

  /** The nonce clients are to put in their next proofs (the `DPoP-Nonce` response header). */
  current(): string {
    return this.of(Math.floor(this.clock.now().getTime() / NONCE_PERIOD_MS));
  }

  /** Whether a proof's `nonce` is this period's or the last one's. */
  accepts(nonce: unknown): boolean {
    if (typeof nonce !== 'string') return false;
    const period = Math.floor(this.clock.now().getTime() / NONCE_PERIOD_MS);
    return [period, period - 1].some((p) => same(this.of(p), nonce));
  }

  private of(period: number): string {
    return createHmac('sha256', this.secret).update(`dpop-nonce:${period}`).digest('base64url');
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
