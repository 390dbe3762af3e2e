import type { Server } from 'node:http';
import type { Config } from './config.js';
import { buildApp, STARTUP_LOADING } from './http/app.js';
import { createHttpServer } from './http/listener.js';
import { jsonLog, silentLog } from './http/log.js';
import { openStorage } from './storage/open.js';
import { loadPathways } from './pathways/loader.js';
import { loadMeasures } from './measures/loader.js';
import { withMeasureJobs } from './measures/schedule.js';
import { loadExamples } from './fhir/example-loader.js';
import { loadTerminology } from './terminology/loader.js';
import { precompileSchemas } from './validation/schema.js';
import { systemClock } from './fhir/clock.js';
import { TokenVerifier } from './security/tokens.js';
import { recordRuns, startScheduledJobs, type ScheduledJobs } from './scheduled.js';
import type { Readiness } from './http/readiness.js';
import type { Services } from './fhir/services.js';
import type { Storage } from './storage/types.js';

export interface Running {
  server: Server;
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts the server; `stop` (also on SIGTERM/SIGINT) finishes in-flight requests, then closes storage. */
export async function startServer(config: Config): Promise<Running> {
  const storage = await openStorage(config.databaseUrl, { log: jsonLog });
  const clock = systemClock;
  const security = config.auth
    ? {
        tokens: new TokenVerifier(config.auth, clock),
        smart: {
          issuer: config.auth.issuer,
          tokenEndpoint: config.auth.tokenEndpoint,
          authorizationEndpoint: config.auth.authorizationEndpoint,
          jwksUri: config.auth.jwks?.startsWith('http') ? config.auth.jwks : undefined,
        },
      }
    : undefined;
  if (!security) {
    jsonLog({
      level: 'warn',
      msg: `AUTHENTICATION IS OFF: anyone who reaches ${config.host}:${config.port} reads and writes every record. Allowed only on loopback; set AUTH_ISSUER and AUTH_JWKS before exposing this server.`,
    });
  }
  const { app, ready, services, dispatch, metrics, readiness } = buildApp({
    clock,
    security,
    audit: config.audit,
    registryOutbox: config.registryOutbox || undefined,
    registryPageSize: config.registryPageSize,
    pathwayDefaultUnit: config.pathwayDefaultUnit,
    readAudit: config.readAudit,
    auditQueueLimit: config.auditQueueLimit,
    metrics: { enabled: config.metrics, public: config.metricsPublic, processMetrics: true },
    startupLoading: true,
    http: {
      corsOrigins: config.corsOrigins,
      rateLimitPerMinute: config.rateLimitPerMinute,
      maxQueryParams: config.maxQueryParams,
    },
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
  jsonLog({
    level: 'info',
    msg: 'schemas compiled',
    types: services.defs.resourceTypes.size,
    ms: Math.round(performance.now() - compileStart),
  });
  const loaded = await loadTerminology(services);
  jsonLog({ level: 'info', msg: 'terminology loaded', ...loaded });
  jsonLog({ level: 'info', msg: 'pathways loaded', ...(await loadPathways(services)) });
  jsonLog({ level: 'info', msg: 'measures loaded', ...(await loadMeasures(services)) });
  if (config.loadExamples)
    jsonLog({ level: 'info', msg: 'examples loaded', ...(await loadExamples(services, dispatch)) });
  const scheduled = await startScheduledJobs(config, services, jsonLog, metrics.recordJob);
  const jobs = await withMeasureJobs(scheduled, services, jsonLog, (task, job) =>
    recordRuns(task, job, metrics.recordJob),
  );
  readiness.done(STARTUP_LOADING);
  const server = createHttpServer(
    app,
    {
      requestTimeoutMs: config.requestTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      maxHeaderBytes: config.maxHeaderBytes,
    },
    config.logRequests ? jsonLog : silentLog,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= shutDown(server, config, readiness, jobs, services, storage));
  return { server, baseUrl: config.baseUrl, stop };
}

/** Finishes in-flight requests (closing idle keep-alive connections as they go idle), then the jobs and storage. */
async function shutDown(
  server: Server,
  config: Config,
  readiness: Readiness,
  jobs: ScheduledJobs,
  services: Services,
  storage: Storage,
): Promise<void> {
  // /readyz answers 503 from now on; with a drain time the listener still takes requests meanwhile,
  // so the load balancer stops sending them before the port closes instead of seeing it refused
  readiness.drain();
  jsonLog({ level: 'info', msg: 'shutting down: finishing in-flight requests', drainMs: config.shutdownDrainMs });
  if (config.shutdownDrainMs) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(force);
  await jobs.stop();
  await services.auditLog?.flush();
  // what the database would not take (it is away) goes to the log whole: the audit trail loses nothing
  const unstored = 'audit event not stored (database unavailable at shutdown)';
  for (const event of services.auditLog?.drain() ?? []) jsonLog({ level: 'error', msg: unstored, event });
  await storage.close();
  jsonLog({ level: 'info', msg: 'stopped' });
}
