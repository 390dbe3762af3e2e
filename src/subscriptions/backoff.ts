/** How long to wait before the next attempt at a failing endpoint. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1_000, maxMs: 5 * 60_000 };

/**
 * Exponential back-off with "equal jitter": after the n-th failure, between half and all of
 * base·2^(n−1), at most `maxMs`. The jitter keeps many subscriptions to one endpoint that came back from
 * retrying in lockstep; the cap keeps a long outage from pushing the first attempt after it far out.
 */
export function backoffMs(attempts: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
