import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

/** The Subscription settings and their checks (docs/configuration.md). */
describe('subscription configuration', () => {
  it('has defaults that work on a laptop: loopback allowed, 72 h', () => {
    const config = loadConfig({});
    expect(config.subscriptionEndpoints).toEqual([]);
    expect(config.subscriptionLoopback).toBe(true);
    expect(config.subscriptionMaxAgeHours).toBe(72);
    expect(config.subscriptionRetentionDays).toBe(30);
  });

  it('reads the allow-list and refuses plain http off loopback', () => {
    const env = { SUBSCRIPTION_ENDPOINTS: 'https://ehr.example.org/hooks/, http://127.0.0.1:9000/' };
    expect(loadConfig(env).subscriptionEndpoints).toEqual(['https://ehr.example.org/hooks/', 'http://127.0.0.1:9000/']);
    expect(() => loadConfig({ SUBSCRIPTION_ENDPOINTS: 'http://ehr.example.org/' })).toThrow(/SUBSCRIPTION_ENDPOINTS/);
    expect(() => loadConfig({ SUBSCRIPTION_MAX_AGE_HOURS: '0' })).toThrow(/SUBSCRIPTION_MAX_AGE_HOURS/);
    expect(() => loadConfig({ SUBSCRIPTION_HMAC_SECRET: 'short' })).toThrow(/at least 32 characters/);
    expect(loadConfig({ SUBSCRIPTION_HMAC_SECRET: 'x'.repeat(32) }).subscriptionHmacSecret).toBe('x'.repeat(32));
  });

  it('with authentication on, loopback endpoints must be listed unless SUBSCRIPTION_LOOPBACK says', () => {
    const auth = { AUTH_ISSUER: 'https://idp.example.org', AUTH_JWKS: 'https://idp.example.org/jwks' };
    expect(loadConfig(auth).subscriptionLoopback).toBe(false);
    expect(loadConfig({ ...auth, SUBSCRIPTION_LOOPBACK: 'true' }).subscriptionLoopback).toBe(true);
  });
});
