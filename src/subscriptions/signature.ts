import { createHmac } from 'node:crypto';
import type { Notification } from './notify.js';

/** The header a signed notification carries. */
export const SIGNATURE_HEADER = 'Forlop-Signature';

/** What is signed: the time, the subscription, the event number and the body, so none can be swapped alone. */
export function signedText(seconds: number, n: Notification): string {
  return `${seconds}.${n.headers['Forlop-Subscription']}.${n.headers['Forlop-Event-Number']}.${n.body ?? ''}`;
}

/**
 * The notification with an HMAC-SHA256 signature header when the server has a secret
 * (SUBSCRIPTION_HMAC_SECRET): `t=<unix seconds>,v1=<hex>` over `signedText`. The endpoint recomputes it
 * with the shared secret to know the notification came from this server and was not altered, and refuses
 * an old `t` to refuse replays. Without a secret the notification goes as it is.
 */
export function sign(n: Notification, secret: string | undefined, now: Date): Notification {
  if (!secret) return n;
  const seconds = Math.floor(now.getTime() / 1000);
  const mac = createHmac('sha256', secret).update(signedText(seconds, n)).digest('hex');
  return { ...n, headers: { ...n.headers, [SIGNATURE_HEADER]: `t=${seconds},v1=${mac}` } };
}
