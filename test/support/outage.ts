import type { PgCluster } from './pg-cluster.js';
import { createOne, type Answer, type LoadRecord } from './write-load.js';

/** One database restart as a node saw it. */
export interface Restart {
  mode: 'fast' | 'immediate';
  /** When the stop began and when the database accepted connections again (ms since the epoch). */
  stoppedAt: number;
  backAt: number;
  /** From the database's return to the node's first acknowledged write (201), that write included. */
  recoveryMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops the cluster (`fast`: clients are told, 57P01; `immediate`: sockets reset), keeps it down for
 * `downMs` while the load goes on, starts it again, and measures how long the node at `base` takes
 * to acknowledge a write after the database is back. Fails after `giveUpMs` without one.
 */
export async function restartDatabase(
  cluster: PgCluster,
  base: string,
  record: LoadRecord,
  options: { mode: Restart['mode']; downMs: number; giveUpMs?: number },
): Promise<Restart> {
  const stoppedAt = Date.now();
  await cluster.stop(options.mode);
  await sleep(options.downMs);
  await cluster.start();
  const backAt = Date.now();
  for (;;) {
    const probe = await createOne(base, record, 'probe');
    if (probe.status === 201) return { mode: options.mode, stoppedAt, backAt, recoveryMs: Date.now() - backAt };
    if (Date.now() - backAt > (options.giveUpMs ?? 30_000))
      throw new Error(
        `the node did not serve again within ${options.giveUpMs ?? 30_000} ms (last answer ${probe.status})`,
      );
    await sleep(20);
  }
}

/** The answers to requests sent while the database was away (from the stop to the node's recovery). */
export function answersDuring(record: LoadRecord, restarts: Restart[]): Answer[] {
  return record.answers.filter((a) => restarts.some((r) => a.at >= r.stoppedAt && a.at <= r.backAt + r.recoveryMs));
}

/** Answers that break the promise: anything but a success or a 503 + Retry-After + `transient` OperationOutcome. */
export function badAnswers(answers: Answer[]): Answer[] {
  return answers.filter((a) => {
    if (a.status === 200 || a.status === 201) return false;
    return !(a.status === 503 && a.retryAfter !== undefined && Number(a.retryAfter) > 0 && a.issueCode === 'transient');
  });
}

/** `{ 201: 40, 503: 12 }` */
export function statusCounts(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
