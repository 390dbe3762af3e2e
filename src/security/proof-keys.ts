import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { keyFits } from './proof-jws.js';
import { TokenError } from './tokens-error.js';

/** An imported proof key and its RFC 7638 thumbprint (what a bound token's `cnf.jkt` names). */
export interface ProofKey {
  key: KeyObject;
  jkt: string;
}

/**
 * The public keys of DPoP proofs, imported once each: a client signs every proof with one key, and
 * importing a JWK and hashing its thumbprint cost more than a read. Keyed by the `alg` and the JWK's
 * exact JSON text, so a cached key and thumbprint are those of this very JWK — a JWK differing in any
 * member is imported and hashed on its own. Least recently used first out, past `max` keys.
 */
export class ProofKeys {
  private readonly keys = new Map<string, ProofKey>();

  constructor(private readonly max = 1_000) {}

  async of(jwk: JWK, alg: string): Promise<ProofKey> {
    const text = `${alg}:${JSON.stringify(jwk)}`;
    const known = this.keys.get(text);
    if (known) {
      // Map keeps insertion order: taken out and put back, the key is now the most recently used
      this.keys.delete(text);
      this.keys.set(text, known);
      return known;
    }
    const imported = await importProofKey(jwk, alg);
    if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(text, imported);
    return imported;
  }

  get size(): number {
    return this.keys.size;
  }
}

async function importProofKey(jwk: JWK, alg: string): Promise<ProofKey> {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    throw unusable(alg);
  }
  if (!keyFits(alg, jwk as Record<string, unknown>, key)) throw unusable(alg);
  return { key, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

const unusable = (alg: string) =>
  new TokenError(`The DPoP proof's jwk is not a usable ${alg} public key`, 'invalid_dpop_proof');
