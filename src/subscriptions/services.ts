import { WakeSignal } from '../fhir/wake-signal.js';
import { SocketHub } from './sockets.js';

/** What the subscriptions area keeps in the services (the core does not know it: src/fhir/services.ts). */
export interface SubscriptionSettings {
  /** Endpoint prefixes a Subscription may deliver to (SUBSCRIPTION_ENDPOINTS); https, or http on loopback. */
  endpoints: string[];
  /** Loopback endpoints (http://127.0.0.1:…, http://localhost:…) allowed without being listed: development. */
  allowLoopback: boolean;
  /** How long an event is retried before the subscription is set to `error` (SUBSCRIPTION_MAX_AGE_HOURS). */
  maxAgeMs: number;
  /** How long a delivered event is kept for `$events` (SUBSCRIPTION_RETENTION_DAYS); undelivered ones stay. */
  retentionMs: number;
  /** Signs every notification (HMAC-SHA256, `Forlop-Signature`) when set (SUBSCRIPTION_HMAC_SECRET). */
  hmacSecret?: string;
}

export const DEFAULT_SUBSCRIPTION_SETTINGS: SubscriptionSettings = {
  endpoints: [],
  allowLoopback: true,
  maxAgeMs: 72 * 3600_000,
  retentionMs: 30 * 24 * 3600_000,
};

/**
 * The in-process side of delivery: wakes the delivery workers of this process when a commit recorded events
 * (others find them by polling), and holds the websocket subscribers bound on this node (R4 §subscription
 * websockets), whom only this process can ping.
 */
export class Signal extends WakeSignal {
  readonly sockets = new SocketHub();
}

declare module '../fhir/services.js' {
  interface Services {
    subscriptions: SubscriptionSettings;
    /** Told after a write recorded notification events (the outbox), so delivery starts without waiting to poll. */
    subscriptionSignal: Signal;
  }
}
