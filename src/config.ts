import type { Limits } from './fhir/services.js';
import type { TerminologyLimits } from './terminology/services.js';
import { DEFAULT_LIMITS } from './fhir/services.js';
import { DEFAULT_TERMINOLOGY_LIMITS } from './terminology/services.js';
import { validate } from 'node-cron';
import type { TokenConfig } from './security/tokens.js';
import { authProfileOf, type AuthProfileConfig } from './security/auth-settings.js';
import { DEFAULT_PAGE_SIZE } from './registry/pages.js';
import { DEFAULT_REGISTRY_CRON } from './registry/schedule.js';
import { DEFAULT_MEASURE_CRON } from './measures/schedule.js';
import { DEFAULT_AUDIT_QUEUE_LIMIT } from './security/audit.js';

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
  /** At shutdown, how long /readyz answers 503 before the listener closes (the load balancer's turn to notice). */
  shutdownDrainMs: number;
  /** Serve `GET /metrics` (Prometheus); METRICS=on|off. */
  metrics: boolean;
  /** Serve /metrics to any client, not only loopback ones (the port must not be public then). */
  metricsPublic: boolean;
  /** When the scheduled deadline evaluation runs (cron syntax, Europe/Oslo); empty turns it off. */
  deadlineCron: string;
  /** Load the example journeys of `examples/` at start (the demo): by default only with the default database. */
  loadExamples: boolean;
  /** Bearer-token authentication; undefined only on loopback (the laptop default), with a warning at start. */
  auth?: AuthConfig;
  /** Origins allowed by CORS (browser apps); empty: CORS off. */
  corsOrigins: string[];
  /** Requests per minute per client (token client id, or address without a token); 0: no limit. */
  rateLimitPerMinute: number;
  /** The most query-string parameters one request may have. */
  maxQueryParams: number;
  /** A request still being received after this long is cut off (slow clients): 408. */
  requestTimeoutMs: number;
  /** Headers still being received after this long: 408 (at most requestTimeoutMs). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** The most bytes of request line and headers: 431 past it. */
  maxHeaderBytes: number;
  /** The most audit events kept while the database cannot take them; past it audited requests get 503. */
  auditQueueLimit: number;
  /** Keep the audit trail (AuditEvents); on unless turned off for a measurement. */
  audit: boolean;
  /** Reads and searches: an AuditEvent each, or grouped per client and flush interval (50 ms). */
  readAudit: 'each' | 'grouped';
  /** How often the audit journal is turned into AuditEvent resources in the background (seconds). */
  auditMaterialiseSeconds: number;
  /** When the registry reports of the month before are made (cron); empty turns the schedule off. */
  registryCron: string;
  registryTimezone: string;
  /** Where the reports are written as files; empty: stored only. */
  registryOutbox: string;
  /** The most codes on one stored page of a report (a larger report is stored as linked pages). */
  registryPageSize: number;
  /** When each unit's monthly and tertial indicator reports are stored (cron); empty turns it off. */
  measureCron: string;
  measureTimezone: string;
  /** The unit (Organization/id) reporting a pathway applied without `organization`; none: such an $apply is refused. */
  pathwayDefaultUnit?: string;
  /** Endpoint prefixes Subscriptions may deliver to (https, or http on loopback). */
  subscriptionEndpoints: string[];
  /** Loopback endpoints allowed without being listed: by default only without authentication (development). */
  subscriptionLoopback: boolean;
  /** How long an undelivered notification is retried before its Subscription is set to `error`. */
  subscriptionMaxAgeHours: number;
  /** The shared secret notifications are signed with (HMAC-SHA256); none: unsigned. */
  subscriptionHmacSecret?: string;
  /** How long delivered notification events are kept for `$events`. */
  subscriptionRetentionDays: number;
  /** Bulk Data export: the most bytes in one NDJSON file (BULK_FILE_MAX_BYTES). */
  bulkFileMaxBytes: number;
  /** Bulk Data export: how long a completed job's files are kept (BULK_EXPIRES_HOURS). */
  bulkExpiresHours: number;
  /** Bulk Data import: the URL prefixes `$import` may fetch from (BULK_IMPORT_SOURCES); none by default. */
  bulkImportSources: string[];
  /** Bulk Data import: the most bytes of one imported file (BULK_IMPORT_MAX_BYTES). */
  bulkImportMaxBytes: number;
}

export interface AuthConfig extends TokenConfig, AuthProfileConfig {
  tokenEndpoint: string;
  authorizationEndpoint?: string;
}

/** PATHWAY_DEFAULT_UNIT: an Organization reference (`Organization/id`), or unset (empty is unset). */
function unitOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  if (!/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(v)) {
    throw new Error(`PATHWAY_DEFAULT_UNIT must be Organization/[id], not '${v}'`);
  }
  return v;
}

function readAuditOf(v: string): 'each' | 'grouped' {
  if (v !== 'each' && v !== 'grouped') throw new Error(`AUDIT_READS must be each or grouped, not '${v}'`);
  return v;
}

/** Loopback addresses: the only ones a server without authentication may listen on. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function authOf(env: NodeJS.ProcessEnv, host: string, baseUrl: string): AuthConfig | undefined {
  const issuer = str(env, 'AUTH_ISSUER');
  const configured = Object.keys(env).some((k) => k.startsWith('AUTH_') && env[k]);
  if (!configured) {
    if (!isLoopback(host)) {
      throw new Error(
        `Refusing to listen on ${host} without authentication: set AUTH_ISSUER and AUTH_JWKS (see the README), or HOST=127.0.0.1 for a local server`,
      );
    }
    return undefined;
  }
  if (!issuer) throw new Error('AUTH_ISSUER is required when authentication is configured (the iss tokens must carry)');
  if (!env.AUTH_JWKS && !env.AUTH_HS256_SECRET)
    throw new Error('Authentication needs AUTH_JWKS (a JWKS URL or file) or, for local development, AUTH_HS256_SECRET');
  if (env.AUTH_HS256_SECRET && !isLoopback(host))
    throw new Error(`AUTH_HS256_SECRET (a shared secret) is for local development: not on ${host}; use AUTH_JWKS`);
  return {
    issuer,
    audience: str(env, 'AUTH_AUDIENCE') ?? baseUrl,
    jwks: env.AUTH_JWKS || undefined,
    hs256Secret: env.AUTH_HS256_SECRET || undefined,
    clockToleranceSeconds: int(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 5),
    tokenEndpoint: str(env, 'AUTH_TOKEN_ENDPOINT') ?? `${issuer.replace(/\/+$/, '')}/token`,
    authorizationEndpoint: env.AUTH_AUTHORIZE_ENDPOINT || undefined,
    ...authProfileOf(env, int(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 5)),
  };
}

/** A variable's value; empty (or blank) is the same as unset, so `DATABASE_URL=` means the default. */
function str(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, not '${v}'`);
  return Number(v);
}

function atLeastOne(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = int(env, name, fallback);
  if (n < 1) throw new Error(`${name} must be at least 1, not ${n}`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (v !== 'true' && v !== 'false') throw new Error(`${name} must be true or false, not '${v}'`);
  return v === 'true';
}

function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (v !== 'on' && v !== 'off') throw new Error(`${name} must be on or off, not '${v}'`);
  return v === 'on';
}

function cronOf(v: string, name = 'DEADLINE_CRON'): string {
  if (v !== '' && !validate(v))
    throw new Error(`${name} must be a cron expression such as '*/15 * * * *' (or empty to turn it off), not '${v}'`);
  return v;
}

function timezoneOf(v: string, name: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return v;
  } catch {
    throw new Error(`${name} must be an IANA time zone such as Europe/Oslo, not '${v}'`);
  }
}

/** DATABASE_URL: postgres:// or postgresql:// (a URL that parses), sqlite:<file>, or a bare file path. */
function databaseUrlOf(v: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(v)?.[1]?.toLowerCase();
  const shown = v.replace(/\/\/[^@/]*@/, '//***@');
  const what = `DATABASE_URL must be postgres://user@host:port/db or sqlite:<file>, not '${shown}'`;
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!URL.canParse(v) || !new URL(v).hostname) throw new Error(what);
  } else if (scheme === 'sqlite') {
    if (!v.slice('sqlite:'.length).replace(/^\/\//, '')) throw new Error(what);
  } else if (scheme && scheme.length > 1) {
    throw new Error(what); // mysql://, http://, …: not a path (a one-letter scheme is a Windows drive)
  }
  return v;
}

/** A comma-separated list (CORS_ORIGINS, SUBSCRIPTION_ENDPOINTS), blanks dropped. */
function listOf(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The Subscription settings: SUBSCRIPTION_ENDPOINTS (URL prefixes, each https or http on loopback);
 * loopback endpoints unlisted only in development (no AUTH_* set) unless SUBSCRIPTION_LOOPBACK says;
 * SUBSCRIPTION_MAX_AGE_HOURS; SUBSCRIPTION_HMAC_SECRET; SUBSCRIPTION_RETENTION_DAYS.
 */
function subscriptionsOf(env: NodeJS.ProcessEnv): Pick<Config, Extract<keyof Config, `subscription${string}`>> {
  const development = !Object.keys(env).some((k) => k.startsWith('AUTH_') && env[k]);
  return {
    subscriptionEndpoints: endpointsOf(env.SUBSCRIPTION_ENDPOINTS),
    subscriptionLoopback: bool(env, 'SUBSCRIPTION_LOOPBACK', development),
    subscriptionMaxAgeHours: atLeastOne(env, 'SUBSCRIPTION_MAX_AGE_HOURS', 72),
    subscriptionHmacSecret: hmacSecretOf(str(env, 'SUBSCRIPTION_HMAC_SECRET')),
    subscriptionRetentionDays: atLeastOne(env, 'SUBSCRIPTION_RETENTION_DAYS', 30),
  };
}

/** SUBSCRIPTION_HMAC_SECRET: unset, or at least 32 characters (a short secret is guessed). */
function hmacSecretOf(v: string | undefined): string | undefined {
  if (v !== undefined && v.length < 32) throw new Error('SUBSCRIPTION_HMAC_SECRET must be at least 32 characters');
  return v;
}

function endpointsOf(v: string | undefined): string[] {
  const prefixes = listOf(v);
  for (const prefix of prefixes) {
    const url = URL.canParse(prefix) ? new URL(prefix) : undefined;
    const ok = url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopback(url.hostname));
    if (!ok)
      throw new Error(
        `SUBSCRIPTION_ENDPOINTS must list https:// URL prefixes (http only on loopback), not '${prefix}'`,
      );
  }
  return prefixes;
}

/**
 * BULK_IMPORT_SOURCES: https:// URL prefixes (http only on loopback) `$import` may fetch from, and
 * file:/// folders (ending in /) it may read from.
 */
function importSourcesOf(v: string | undefined): string[] {
  const prefixes = listOf(v);
  for (const prefix of prefixes) {
    const url = URL.canParse(prefix) ? new URL(prefix) : undefined;
    const folder = url?.protocol === 'file:' && !url.host && url.pathname.endsWith('/');
    if (!(folder || url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopback(url.hostname))))
      throw new Error(
        `BULK_IMPORT_SOURCES must list https:// URL prefixes (http only on loopback) or file:/// folders, not '${prefix}'`,
      );
  }
  return prefixes;
}

/** HEADERS_TIMEOUT_MS: Node refuses a headers timeout longer than the request timeout. */
function headersTimeoutOf(env: NodeJS.ProcessEnv, requestTimeoutMs: number): number {
  const ms = int(env, 'HEADERS_TIMEOUT_MS', requestTimeoutMs ? Math.min(10_000, requestTimeoutMs) : 10_000);
  if (requestTimeoutMs && ms > requestTimeoutMs)
    throw new Error(`HEADERS_TIMEOUT_MS (${ms}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  return ms;
}

/** The audit trail's settings (docs/security.md). */
function auditOf(
  env: NodeJS.ProcessEnv,
): Pick<Config, 'audit' | 'auditQueueLimit' | 'readAudit' | 'auditMaterialiseSeconds'> {
  return {
    audit: bool(env, 'AUDIT', true),
    auditQueueLimit: atLeastOne(env, 'AUDIT_QUEUE_LIMIT', DEFAULT_AUDIT_QUEUE_LIMIT),
    readAudit: readAuditOf(str(env, 'AUDIT_READS') ?? 'each'),
    auditMaterialiseSeconds: atLeastOne(env, 'AUDIT_MATERIALISE_SECONDS', 30),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'PORT', 8080);
  if (port > 65_535) throw new Error(`PORT must be a TCP port (0–65535), not ${port}`);
  const host = str(env, 'HOST') ?? '127.0.0.1';
  const publicHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host;
  const mode = str(env, 'VALIDATION_MODE') ?? 'strict';
  if (mode !== 'strict' && mode !== 'lenient')
    throw new Error(`VALIDATION_MODE must be strict or lenient, not '${mode}'`);
  const baseUrl = (str(env, 'BASE_URL') ?? `http://${publicHost}:${port}/fhir`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl) || !URL.canParse(baseUrl)) {
    throw new Error(`BASE_URL must be an absolute http(s) URL such as http://localhost:8080/fhir, not '${baseUrl}'`);
  }
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000);
  return {
    host,
    port,
    baseUrl,
    databaseUrl: databaseUrlOf(str(env, 'DATABASE_URL') ?? 'sqlite:./data/forlop.db'),
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
    logRequests: bool(env, 'LOG_REQUESTS', true),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000),
    shutdownDrainMs: int(env, 'SHUTDOWN_DRAIN_MS', 0),
    metrics: onOff(env, 'METRICS', true),
    metricsPublic: bool(env, 'METRICS_PUBLIC', false),
    deadlineCron: cronOf(env.DEADLINE_CRON ?? '*/15 * * * *'),
    // a laptop's first run shows the pathways with data; a configured (production) database never gets examples unasked
    loadExamples: bool(env, 'LOAD_EXAMPLES', str(env, 'DATABASE_URL') === undefined),
    auth: authOf(env, host, baseUrl),
    corsOrigins: listOf(env.CORS_ORIGINS),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000),
    maxQueryParams: int(env, 'MAX_QUERY_PARAMS', 100),
    requestTimeoutMs,
    headersTimeoutMs: headersTimeoutOf(env, requestTimeoutMs),
    // longer than a load balancer's idle timeout (60 s on common ones): the balancer closes first, so
    // it never sends a request down a connection this server is closing
    keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', 65_000),
    maxHeaderBytes: atLeastOne(env, 'MAX_HEADER_BYTES', 16_384),
    ...auditOf(env),
    registryCron: cronOf(env.REGISTRY_CRON ?? DEFAULT_REGISTRY_CRON, 'REGISTRY_CRON'),
    registryTimezone: timezoneOf(str(env, 'REGISTRY_TIMEZONE') ?? 'Europe/Oslo', 'REGISTRY_TIMEZONE'),
    registryOutbox: env.REGISTRY_OUTBOX ?? './data/outbox',
    registryPageSize: atLeastOne(env, 'REGISTRY_PAGE_SIZE', DEFAULT_PAGE_SIZE),
    pathwayDefaultUnit: unitOf(env.PATHWAY_DEFAULT_UNIT),
    measureCron: cronOf(env.MEASURE_CRON ?? DEFAULT_MEASURE_CRON, 'MEASURE_CRON'),
    measureTimezone: timezoneOf(str(env, 'MEASURE_TIMEZONE') ?? 'Europe/Oslo', 'MEASURE_TIMEZONE'),
    ...subscriptionsOf(env),
    bulkFileMaxBytes: atLeastOne(env, 'BULK_FILE_MAX_BYTES', 64 * 1024 * 1024),
    bulkExpiresHours: atLeastOne(env, 'BULK_EXPIRES_HOURS', 24),
    bulkImportSources: importSourcesOf(env.BULK_IMPORT_SOURCES),
    bulkImportMaxBytes: atLeastOne(env, 'BULK_IMPORT_MAX_BYTES', 256 * 1024 * 1024),
  };
}
