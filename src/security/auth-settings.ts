import { existsSync, readFileSync } from 'node:fs';
import type { DpopMode, DpopSettings } from './dpop.js';
import { loadHelseIdProfile, type HelseIdSettings } from './helseid.js';

/** The token profile and DPoP settings of the configuration (AUTH_PROFILE, DPOP, HELSEID_*, docs/configuration.md). */
export interface AuthProfileConfig {
  helseid?: HelseIdSettings;
  dpop: DpopSettings & {
    /** Turns server nonces on (RFC 9449 §9): the secret every node derives them from (DPOP_NONCE_SECRET). */
    nonceSecret?: string;
  };
}

const value = (env: NodeJS.ProcessEnv, name: string) => env[name]?.trim() || undefined;

function count(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw new Error(`${name} must be a whole number ${min}–${max}, not '${v}'`);
  return n;
}

/** HELSEID_SCOPE_MAP: JSON, or a JSON file, mapping each HelseID scope to a SMART scope or a list of them. */
function scopeMapOf(v: string | undefined): Record<string, string[]> | undefined {
  if (v === undefined) return undefined;
  const text = v.startsWith('{') ? v : existsSync(v) ? readFileSync(v, 'utf8') : undefined;
  const what = `HELSEID_SCOPE_MAP must be a JSON object (or a file with one) of HelseID scope → SMART scopes`;
  if (text === undefined) throw new Error(`${what}; '${v}' is neither`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${what}; it is not JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(what);
  const map: Record<string, string[]> = {};
  for (const [k, s] of Object.entries(parsed)) {
    const list = typeof s === 'string' ? [s] : s;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error(`${what}; '${k}' is not`);
    map[k] = list as string[];
  }
  return map;
}

/** AUTH_PROFILE=smart|helseid, DPOP=off|allowed|required and their settings, read when authentication is on. */
export function authProfileOf(env: NodeJS.ProcessEnv, clockToleranceSeconds: number): AuthProfileConfig {
  const profile = value(env, 'AUTH_PROFILE') ?? 'smart';
  if (profile !== 'smart' && profile !== 'helseid')
    throw new Error(`AUTH_PROFILE must be smart or helseid, not '${profile}'`);
  const mode = value(env, 'DPOP') ?? 'off';
  if (mode !== 'off' && mode !== 'allowed' && mode !== 'required')
    throw new Error(`DPOP must be off, allowed or required, not '${mode}'`);
  const shipped = loadHelseIdProfile(scopeMapOf(value(env, 'HELSEID_SCOPE_MAP')));
  const nonceSecret = value(env, 'DPOP_NONCE_SECRET');
  if (nonceSecret !== undefined && nonceSecret.length < 32)
    throw new Error('DPOP_NONCE_SECRET must be at least 32 characters');
  // checked whatever the profile: a setting that is wrong is said at start, not when it first matters
  const writeSecurityLevel = count(env, 'WRITE_SECURITY_LEVEL', 4, 0, 4);
  return {
    helseid: profile === 'helseid' ? { ...shipped, writeSecurityLevel } : undefined,
    dpop: {
      mode: mode as DpopMode,
      algorithms: shipped.proofAlgorithms,
      iatWindowSeconds: count(env, 'DPOP_IAT_WINDOW_SECONDS', 60, 1, 3600),
      iatFutureSeconds: clockToleranceSeconds,
      nonceSecret,
    },
  };
}
