import type { Limits, TerminologyLimits } from './fhir/services.js';
import { DEFAULT_LIMITS, DEFAULT_TERMINOLOGY_LIMITS } from './fhir/services.js';
import { validate } from 'node-cron';

/** Server configuration from environment variables, each with a default that works on a laptop. */
export interface Config {
  host: string;
  port: number;
  baseUrl: string;
  databaseUrl: string;
  limits: Limits;
  terminology: TerminologyLimits;
  validationMode: 'strict' | 'lenient';
  logRequests: boolean;
  shutdownTimeoutMs: number;
  /** When the scheduled deadline evaluation runs (cron syntax, Europe/Oslo); empty turns it off. */
  deadlineCron: string;
  /** Load the example journeys of `examples/` at start (the demo): on by default only for the embedded default database. */
  loadExamples: boolean;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, not '${v}'`);
  return Number(v);
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (v !== 'true' && v !== 'false') throw new Error(`${name} must be true or false, not '${v}'`);
  return v === 'true';
}

function cronOf(v: string): string {
  if (v !== '' && !validate(v)) throw new Error(`DEADLINE_CRON must be a cron expression such as '*/15 * * * *' (or empty to turn it off), not '${v}'`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'PORT', 8080);
  const host = env.HOST ?? '127.0.0.1';
  const publicHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host;
  const mode = env.VALIDATION_MODE ?? 'strict';
  if (mode !== 'strict' && mode !== 'lenient') throw new Error(`VALIDATION_MODE must be strict or lenient, not '${mode}'`);
  const baseUrl = (env.BASE_URL ?? `http://${publicHost}:${port}/fhir`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) throw new Error(`BASE_URL must be an absolute http(s) URL such as http://localhost:8080/fhir, not '${baseUrl}'`);
  return {
    host,
    port,
    baseUrl,
    databaseUrl: env.DATABASE_URL ?? 'sqlite:./data/forlop.db',
    limits: {
      maxBodyBytes: int(env, 'MAX_BODY_BYTES', DEFAULT_LIMITS.maxBodyBytes),
      maxBundleEntries: int(env, 'MAX_BUNDLE_ENTRIES', DEFAULT_LIMITS.maxBundleEntries),
      maxJsonDepth: int(env, 'MAX_JSON_DEPTH', DEFAULT_LIMITS.maxJsonDepth),
      defaultCount: int(env, 'DEFAULT_COUNT', DEFAULT_LIMITS.defaultCount),
      maxCount: int(env, 'MAX_COUNT', DEFAULT_LIMITS.maxCount),
    },
    terminology: {
      maxExpansionSize: int(env, 'TX_MAX_EXPANSION', DEFAULT_TERMINOLOGY_LIMITS.maxExpansionSize),
      lenientDisplay: bool(env, 'TX_LENIENT_DISPLAY', DEFAULT_TERMINOLOGY_LIMITS.lenientDisplay),
    },
    validationMode: mode,
    logRequests: env.LOG_REQUESTS !== 'false',
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000),
    deadlineCron: cronOf(env.DEADLINE_CRON ?? '*/15 * * * *'),
    // a laptop's first run shows the pathways with data; a configured (production) database never gets examples unasked
    loadExamples: bool(env, 'LOAD_EXAMPLES', env.DATABASE_URL === undefined),
  };
}
