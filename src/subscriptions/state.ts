import type { SqlExecutor, Tx } from '../storage/types.js';

/** One subscription's delivery state (`subscription_state`); numbers as numbers (PostgreSQL gives BIGINT as text). */
export interface SubscriptionState {
  id: string;
  status: string;
  eventsSinceStart: number;
  delivered: number;
  attempts: number;
  nextAttempt: number;
  lastError: string | null;
  /** Backport heartbeat period (ms), and when the endpoint was last sent anything (wall-clock ms). */
  heartbeatMs: number | null;
  lastSent: number;
}

/** One event of the outbox: the version a write made, numbered per subscription. */
export interface OutboxEvent {
  number: number;
  type: string;
  id: string;
  version: number;
  /** When it was recorded, by the server's clock (epoch ms): its age decides when retrying ends. */
  created: number;
}

interface StateRow {
  id: string;
  status: string;
  events_since_start: number | string;
  delivered: number | string;
  attempts: number | string;
  next_attempt: number | string;
  last_error: string | null;
  heartbeat_ms: number | string | null;
  last_sent: number | string;
}

const STATE_COLS =
  'id, status, events_since_start, delivered, attempts, next_attempt, last_error, heartbeat_ms, last_sent';

function stateOf(r: StateRow): SubscriptionState {
  return {
    id: r.id,
    status: r.status,
    eventsSinceStart: Number(r.events_since_start),
    delivered: Number(r.delivered),
    attempts: Number(r.attempts),
    nextAttempt: Number(r.next_attempt),
    lastError: r.last_error,
    heartbeatMs: r.heartbeat_ms === null ? null : Number(r.heartbeat_ms),
    lastSent: Number(r.last_sent),
  };
}

export async function readState(db: SqlExecutor, id: string): Promise<SubscriptionState | undefined> {
  const row = await db.get<StateRow>(`SELECT ${STATE_COLS} FROM subscription_state WHERE id = ?`, [id]);
  return row && stateOf(row);
}

/**
 * The subscriptions with work due: a handshake to make, events not yet delivered, a heartbeat (Backport IG)
 * to send, or an `end` passed by the server's clock (`clockNow`, epoch ms) to turn off. `now` is wall-clock
 * ms: back-off and heartbeats are process time, like a lease's expiry (src/storage/lease.ts).
 */
export async function dueSubscriptions(
  db: SqlExecutor,
  now: number,
  clockNow: number,
  limit: number,
): Promise<string[]> {
  const rows = await db.all<{ id: string }>(
    `SELECT id FROM subscription_state
     WHERE (next_attempt <= ? AND (status = 'requested' OR (status = 'active' AND delivered < events_since_start)))
        OR (status IN ('requested', 'active') AND ends <= ?)
        OR (status = 'active' AND next_attempt <= ? AND last_sent + heartbeat_ms <= ?)
     ORDER BY next_attempt, id LIMIT ?`,
    [now, clockNow, now, now, limit],
  );
  return rows.map((r) => r.id);
}

/** The subscription's events after `after`, in order. */
export async function eventsAfter(db: SqlExecutor, id: string, after: number, limit: number): Promise<OutboxEvent[]> {
  const rows = await db.all<Record<keyof OutboxEvent, number | string>>(
    `SELECT number, type, id, version, created FROM subscription_events WHERE subscription = ? AND number > ?
     ORDER BY number LIMIT ?`,
    [id, after, limit],
  );
  return rows.map((r) => ({
    number: Number(r.number),
    type: String(r.type),
    id: String(r.id),
    version: Number(r.version),
    created: Number(r.created),
  }));
}

/**
 * Deletes the delivered events recorded before `before` (the server's clock, epoch ms): what `$events`
 * keeps is the retention period. An event not yet delivered is never deleted, however old. Returns how many.
 */
export async function purgeDelivered(tx: Tx, before: number): Promise<number> {
  const { changes } = await tx.run(
    `DELETE FROM subscription_events WHERE created < ? AND number <= (
       SELECT s.delivered FROM subscription_state s WHERE s.id = subscription_events.subscription)`,
    [before],
  );
  return changes;
}

/** Event `number` reached the endpoint: the next one is due now, the back-off is over. */
export async function markDelivered(tx: Tx, id: string, number: number): Promise<void> {
  await tx.run(
    `UPDATE subscription_state SET delivered = ?, attempts = 0, next_attempt = 0, last_error = NULL, last_sent = ?
     WHERE id = ? AND delivered < ?`,
    [number, Date.now(), id, number],
  );
}

/** Something other than an event reached the endpoint (a handshake, a heartbeat): the heartbeat waits again. */
export async function markSent(tx: Tx, id: string): Promise<void> {
  await tx.run(`UPDATE subscription_state SET last_sent = ?, attempts = 0, next_attempt = 0 WHERE id = ?`, [
    Date.now(),
    id,
  ]);
}

/** A failed attempt: counted, and the next one put off until `nextAttempt` (wall-clock ms). */
export async function markFailed(tx: Tx, id: string, attempts: number, nextAttempt: number, error: string) {
  await tx.run(`UPDATE subscription_state SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?`, [
    attempts,
    nextAttempt,
    error.slice(0, 500),
    id,
  ]);
}
