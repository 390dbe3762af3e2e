import type { SubscriptionSettings } from './services.js';

/** Loopback hosts: the only ones a plain-http endpoint may have. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Why an endpoint may not be delivered to, or undefined when it may: an absolute http(s) URL, https
 * unless on loopback (notifications carry patient data), and on the allow-list (SUBSCRIPTION_ENDPOINTS
 * prefixes; loopback ones also when the settings allow loopback, as in development).
 */
export function endpointRefusal(settings: SubscriptionSettings, endpoint: string | undefined): string | undefined {
  if (!endpoint) return 'A rest-hook Subscription needs channel.endpoint';
  if (!URL.canParse(endpoint)) return `channel.endpoint '${endpoint.slice(0, 200)}' is not an absolute URL`;
  const url = new URL(endpoint);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `channel.endpoint must be an http(s) URL, not ${url.protocol}`;
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !loopback) return 'channel.endpoint must use https (plain http only on loopback)';
  if (url.username || url.password) return 'channel.endpoint must not carry credentials: use channel.header';
  if (loopback && settings.allowLoopback) return undefined;
  if (settings.endpoints.some((prefix) => endpoint.startsWith(prefix))) return undefined;
  return `channel.endpoint ${url.origin} is not on this server's allow-list of endpoints (SUBSCRIPTION_ENDPOINTS)`;
}
