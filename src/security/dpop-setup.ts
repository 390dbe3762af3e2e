import type { Clock } from '../fhir/clock.js';
import type { Storage } from '../storage/types.js';
import type { AuthProfileConfig } from './auth-settings.js';
import { DpopNonces } from './dpop-nonce.js';
import { ReplayCache } from './dpop-replay.js';
import { DpopVerifier } from './dpop.js';

/**
 * The DPoP verifier of a configuration (none when DPOP=off): proofs' `htu` compared with the
 * configured public base URL's origin (BASE_URL), jtis kept in the database, nonces when a secret is set.
 */
export function dpopVerifierOf(
  dpop: AuthProfileConfig['dpop'],
  baseUrl: string,
  storage: Storage,
  clock: Clock,
): DpopVerifier | undefined {
  if (dpop.mode === 'off') return undefined;
  const nonces = dpop.nonceSecret ? new DpopNonces(dpop.nonceSecret, clock) : undefined;
  return new DpopVerifier(dpop, new URL(baseUrl).origin, new ReplayCache(storage, clock), clock, nonces);
}
