import type { SqlExecutor, Tx } from './types.js';

/**
 * The subscriptions' own tables (schema.ts): `subscription_state`, one row per Subscription with its
 * delivery counters, and `subscription_events`, the transactional outbox. What src/subscriptions asks of
 * them, as named statements: SQL stays in storage.
 */

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
 * ms: back-off and heartbeats are process time, like a lease's expiry (src/storage/lease.ts). A websocket
 * subscription's events are due only on the node a socket is bound to (`dueOnSockets`), so they are not here.
 */
export async function dueSubscriptions(
  db: SqlExecutor,
  now: number,
  clockNow: number,
  limit: number,
): Promise<string[]> {
  const rows = await db.all<{ id: string }>(
    `SELECT id FROM subscription_state
     WHERE (next_attempt <= ? AND (status = 'requested'
             OR (status = 'active' AND channel <> 'websocket' AND delivered < events_since_start)))
        OR (status IN ('requested', 'active') AND ends <= ?)
        OR (status = 'active' AND next_attempt <= ? AND last_sent + heartbeat_ms <= ?)
     ORDER BY next_attempt, id LIMIT ?`,
    [now, clockNow, now, now, limit],
  );
  return rows.map((r) => r.id);
}

/** Of the websocket subscriptions with a socket bound on this node (`ids`), those with events to ping. */
export async function dueOnSockets(db: SqlExecutor, ids: string[], now: number): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await db.all<{ id: string }>(
    `SELECT id FROM subscription_state WHERE id IN (${ids.map(() => '?').join(', ')})
       AND status = 'active' AND channel = 'websocket' AND delivered < events_since_start AND next_attempt <= ?
     ORDER BY id`,
    [...ids, now],
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

/** What a written Subscription says about its delivery (its counters are kept across updates). */
export interface SubscriptionMirror {
  id: string;
  status: string;
  criteriaType: string;
  criteria: string;
  ends: number | null;
  topic: string | null;
  heartbeatMs: number | null;
  /** `rest-hook` or `websocket` (R4 Subscription.channel.type). */
  channel: string;
}

/** Mirrors a written Subscription; a (re-)requested one is tried at once, its back-off forgotten. */
export async function upsertState(tx: Tx, m: SubscriptionMirror): Promise<void> {
  // its undelivered events stay
  await tx.run(
    `INSERT INTO subscription_state (id, status, criteria_type, criteria, ends, topic, heartbeat_ms, channel)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, criteria_type = excluded.criteria_type,
       criteria = excluded.criteria, ends = excluded.ends, topic = excluded.topic, heartbeat_ms = excluded.heartbeat_ms,
       channel = excluded.channel,
       attempts = CASE WHEN excluded.status = 'requested' THEN 0 ELSE subscription_state.attempts END,
       next_attempt = CASE WHEN excluded.status = 'requested' THEN 0 ELSE subscription_state.next_attempt END`,
    [m.id, m.status, m.criteriaType, m.criteria, m.ends, m.topic, m.heartbeatMs, m.channel],
  );
}

/** A deleted Subscription: its state and its events go. */
export async function deleteState(tx: Tx, id: string): Promise<void> {
  await tx.run('DELETE FROM subscription_state WHERE id = ?', [id]);
  await tx.run('DELETE FROM subscription_events WHERE subscription = ?', [id]);
}

/** The subscriptions on resources of `type` in one of these statuses, by id. */
export function listeningTo(
  db: SqlExecutor,
  type: string,
  statuses: readonly string[],
): Promise<{ id: string; criteria: string; topic: string | null }[]> {
  return db.all(
    `SELECT id, criteria, topic FROM subscription_state
      WHERE criteria_type = ? AND status IN (${statuses.map(() => '?').join(', ')}) ORDER BY id`,
    [type, ...statuses],
  );
}

/**
 * One event: the subscription's counter raised (its row locked until the commit), the outbox row added
 * with that number. Returns the number.
 */
export async function appendEvent(tx: Tx, subscription: string, event: Omit<OutboxEvent, 'number'>): Promise<number> {
  const counted = await tx.get<{ n: number | string }>(
    `UPDATE subscription_state SET events_since_start = events_since_start + 1 WHERE id = ?
     RETURNING events_since_start AS n`,
    [subscription],
  );
  const number = Number(counted!.n);
  await tx.run(
    `INSERT INTO subscription_events (subscription, number, type, id, version, created) VALUES (?, ?, ?, ?, ?, ?)`,
    [subscription, number, event.type, event.id, event.version, event.created],
  );
  return number;
}

/** The lowest event number the outbox still holds for the subscription (none: undefined). */
export async function oldestEvent(db: SqlExecutor, id: string): Promise<number | undefined> {
  const row = await db.get<{ n: number | string | null }>(
    'SELECT MIN(number) AS n FROM subscription_events WHERE subscription = ?',
    [id],
  );
  return row?.n === null || row?.n === undefined ? undefined : Number(row.n);
}

/** Sends again from event `from`: delivered is set back before it, and the next attempt is now. */
export async function rewindDelivered(tx: Tx, id: string, from: number): Promise<void> {
  await tx.run(`UPDATE subscription_state SET delivered = ?, attempts = 0, next_attempt = 0 WHERE id = ?`, [
    from - 1,
    id,
  ]);
}
