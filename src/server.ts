import type { Server } from 'node:http';
import type { Resource } from '@medplum/fhirtypes';
import type { Config } from './config.js';
import { buildApp, STARTUP_LOADING, type App, type AppOptions } from './http/app.js';
import { createHttpServer } from './http/listener.js';
import { jsonLog, silentLog } from './http/log.js';
import { openStorage } from './storage/open.js';
import { loadPathways, shippedPathways } from './pathways/loader.js';
import { loadMeasures, shippedMeasures } from './measures/loader.js';
import { loadTopics } from './subscriptions/topic-loader.js';
import { topicResources } from './subscriptions/topics.js';
import { withMeasureJobs } from './measures/schedule.js';
import { loadExamples } from './fhir/example-loader.js';
import { loadConformance, shippedConformance } from './fhir/conformance-loader.js';
import type { LoadReport } from './fhir/canonical-loader.js';
import { loadTerminology, shippedTerminology } from './terminology/loader.js';
import { precompileSchemas } from './validation/schema.js';
import { systemClock, type Clock } from './fhir/clock.js';
import { TokenVerifier } from './security/tokens.js';
import { dpopVerifierOf } from './security/dpop-setup.js';
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
  const { app, ready, services, dispatch, metrics, readiness, sockets } = buildApp(
    appOptions(config, storage, clock, securityOf(config, clock, storage)),
  );
  await ready;
  await loadDefinitions(config, services, dispatch);
  const scheduled = await startScheduledJobs(config, services, jsonLog, metrics.recordJob);
  const measureSchedule = { cron: config.measureCron, timezone: config.measureTimezone };
  const jobs = await withMeasureJobs(scheduled, services, jsonLog, measureSchedule, (task, job) =>
    recordRuns(task, job, metrics.recordJob),
  );
  readiness.done(STARTUP_LOADING);
  const server = await listen(app, config);
  server.on('upgrade', sockets.upgrade);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= shutDown(server, config, readiness, jobs, services, storage, sockets));
  return { server, baseUrl: config.baseUrl, stop };
}

/** Access tokens and the SMART endpoints when authentication is configured; a loud warning when it is not. */
function securityOf(config: Config, clock: Clock, storage: Storage): AppOptions['security'] {
  const auth = config.auth;
  if (!auth) {
    jsonLog({
      level: 'warn',
      msg: `AUTHENTICATION IS OFF: anyone who reaches ${config.host}:${config.port} reads and writes every record. Allowed only on loopback; set AUTH_ISSUER and AUTH_JWKS before exposing this server.`,
    });
    return undefined;
  }
  const warn = (msg: string) => jsonLog({ level: 'warn', msg });
  return {
    tokens: new TokenVerifier({ ...auth, warn }, clock),
    smart: {
      issuer: auth.issuer,
      tokenEndpoint: auth.tokenEndpoint,
      authorizationEndpoint: auth.authorizationEndpoint,
      jwksUri: auth.jwks?.startsWith('http') ? auth.jwks : undefined,
      helseIdScopes: auth.helseid && Object.keys(auth.helseid.scopeMap),
      dpop:
        auth.dpop.mode === 'off'
          ? undefined
          : { required: auth.dpop.mode === 'required', algorithms: auth.dpop.algorithms },
    },
    dpop: dpopVerifierOf(auth.dpop, config.baseUrl, storage, clock),
  };
}

/** The app's options, from the configuration (the one place a setting reaches the app). */
function appOptions(config: Config, storage: Storage, clock: Clock, security: AppOptions['security']): AppOptions {
  return {
    clock,
    security,
    audit: config.audit,
    registryOutbox: config.registryOutbox || undefined,
    registryPageSize: config.registryPageSize,
    pathwayDefaultUnit: config.pathwayDefaultUnit,
    subscriptions: {
      endpoints: config.subscriptionEndpoints,
      allowLoopback: config.subscriptionLoopback,
      maxAgeMs: config.subscriptionMaxAgeHours * 3600_000,
      hmacSecret: config.subscriptionHmacSecret,
      retentionMs: config.subscriptionRetentionDays * 24 * 3600_000,
    },
    bulk: {
      fileMaxBytes: config.bulkFileMaxBytes,
      expiresMs: config.bulkExpiresHours * 3600_000,
      importSources: config.bulkImportSources,
      importMaxBytes: config.bulkImportMaxBytes,
    },
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
  };
}

/**
 * The shipped resources stored before the first request, in order, each idempotently (a restart stores
 * no new version): terminology, pathways, measures, and the definitions the CapabilityStatement names.
 * Exported so the tests load exactly what a start-up does; the third of each is what it ships from our
 * own files, which `npm run package` publishes (tools/package.ts), so the package and start-up agree.
 */
export const STARTUP_DEFINITIONS: ReadonlyArray<
  readonly [string, (svc: Services) => Promise<LoadReport>, () => Resource[]]
> = [
  ['terminology', (svc) => loadTerminology(svc), () => shippedTerminology()],
  ['pathways', (svc) => loadPathways(svc), () => shippedPathways()],
  ['measures', (svc) => loadMeasures(svc), () => shippedMeasures()],
  ['definitions', (svc) => loadConformance(svc), () => shippedConformance()],
  ['subscription topics', (svc) => loadTopics(svc), () => topicResources()],
];

/** What is loaded before the first request: schemas compiled, the shipped resources, examples. */
async function loadDefinitions(config: Config, services: Services, dispatch: App['dispatch']): Promise<void> {
  // the JSON schema validators of every type, compiled before the first request (~3 s), not during it
  const compileStart = performance.now();
  precompileSchemas(services.defs.resourceTypes);
  jsonLog({
    level: 'info',
    msg: 'schemas compiled',
    types: services.defs.resourceTypes.size,
    ms: Math.round(performance.now() - compileStart),
  });
  for (const [what, load] of STARTUP_DEFINITIONS)
    jsonLog({ level: 'info', msg: `${what} loaded`, ...(await load(services)) });
  if (config.loadExamples)
    jsonLog({ level: 'info', msg: 'examples loaded', ...(await loadExamples(services, dispatch)) });
}

/** The HTTP listener with the configured timeouts, listening once this resolves. */
async function listen(app: App['app'], config: Config): Promise<Server> {
  const timeouts = {
    requestTimeoutMs: config.requestTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    maxHeaderBytes: config.maxHeaderBytes,
  };
  const server = createHttpServer(app, timeouts, config.logRequests ? jsonLog : silentLog);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return server;
}

/** Finishes in-flight requests (closing idle keep-alive connections as they go idle), then the jobs and storage. */
async function shutDown(
  server: Server,
  config: Config,
  readiness: Readiness,
  jobs: ScheduledJobs,
  services: Services,
  storage: Storage,
  sockets: App['sockets'],
): Promise<void> {
  // /readyz answers 503 from now on; with a drain time the listener still takes requests meanwhile,
  // so the load balancer stops sending them before the port closes instead of seeing it refused
  readiness.drain();
  jsonLog({ level: 'info', msg: 'shutting down: finishing in-flight requests', drainMs: config.shutdownDrainMs });
  if (config.shutdownDrainMs) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
  // an upgraded socket is no HTTP connection the listener closes: its clients bind again elsewhere
  sockets.close();
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
