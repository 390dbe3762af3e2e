import { createServer, type Server } from 'node:http';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { jsonLog, silentLog } from './http/log.js';
import { openStorage } from './storage/open.js';
import { schedule } from 'node-cron';
import { evaluateAll } from './pathways/evaluate.js';
import { loadPathways } from './pathways/loader.js';
import { loadExamples } from './fhir/example-loader.js';
import { loadTerminology } from './terminology/loader.js';
import { precompileSchemas } from './validation/schema.js';
import { systemClock } from './fhir/clock.js';
import { TokenVerifier } from './security/tokens.js';
import { registryTask } from './registry/schedule.js';

export interface Running {
  server: Server;
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts the server; `stop` (also on SIGTERM/SIGINT) finishes in-flight requests, then closes storage. */
export async function startServer(config: Config): Promise<Running> {
  const storage = await openStorage(config.databaseUrl);
  const clock = systemClock;
  const security = config.auth ? { tokens: new TokenVerifier(config.auth, clock), smart: { issuer: config.auth.issuer, tokenEndpoint: config.auth.tokenEndpoint, authorizationEndpoint: config.auth.authorizationEndpoint, jwksUri: config.auth.jwks?.startsWith('http') ? config.auth.jwks : undefined } } : undefined;
  if (!security) {
    jsonLog({ level: 'warn', msg: `AUTHENTICATION IS OFF: anyone who reaches ${config.host}:${config.port} reads and writes every record. Allowed only on loopback; set AUTH_ISSUER and AUTH_JWKS before exposing this server.` });
  }
  const { app, ready, services, dispatch } = buildApp({
    clock,
    security,
    audit: config.audit,
    registryOutbox: config.registryOutbox || undefined,
    registryPageSize: config.registryPageSize,
    readAudit: config.readAudit,
    http: { corsOrigins: config.corsOrigins, rateLimitPerMinute: config.rateLimitPerMinute, maxQueryParams: config.maxQueryParams },
    storage,
    baseUrl: config.baseUrl,
    limits: config.limits,
    terminology: config.terminology,
    validationMode: config.validationMode,
    log: config.logRequests ? jsonLog : silentLog,
  });
  await ready;
  // the JSON schema validators of every type, compiled before the first request (~3 s), not during it
  const compileStart = performance.now();
  precompileSchemas(services.defs.resourceTypes);
  jsonLog({ level: 'info', msg: 'schemas compiled', types: services.defs.resourceTypes.size, ms: Math.round(performance.now() - compileStart) });
  const loaded = await loadTerminology(services);
  jsonLog({ level: 'info', msg: 'terminology loaded', ...loaded });
  jsonLog({ level: 'info', msg: 'pathways loaded', ...(await loadPathways(services)) });
  if (config.loadExamples) jsonLog({ level: 'info', msg: 'examples loaded', ...(await loadExamples(services, dispatch)) });
  // deadlines move with time, not only with writes: evaluate every active pathway on a schedule
  // (per-CarePlan locks let several nodes run it; noOverlap keeps one run per process at a time)
  const deadlines = config.deadlineCron
    ? schedule(
        config.deadlineCron,
        async () => {
          const r = await evaluateAll(services);
          jsonLog({ level: 'info', msg: 'deadlines evaluated', ...r });
        },
        { name: 'deadlines', noOverlap: true, timezone: 'Europe/Oslo' },
      )
    : undefined;
  // the month before's registry reports, for every unit with pathways (REGISTRY_CRON, in REGISTRY_TIMEZONE)
  const registry = config.registryCron ? registryTask(services, config.registryCron, config.registryTimezone, jsonLog) : undefined;
  await registry?.start();
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  // a client that trickles its request (headers or body) is cut off: no slow-loris hold on a connection
  server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  server.requestTimeout = config.requestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      jsonLog({ level: 'info', msg: 'shutting down: finishing in-flight requests' });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // keep-alive connections go idle as their last response is sent: close them as they do
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(force);
      await deadlines?.stop();
      await registry?.stop();
      await services.auditLog?.flush();
      await storage.close();
      jsonLog({ level: 'info', msg: 'stopped' });
    })());
  return { server, baseUrl: config.baseUrl, stop };
}
