import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import express, { type NextFunction, type Request, type Response } from 'express';
import { terminologyCapabilities } from '../terminology/capabilities.js';
import { capabilityStatement } from '../fhir/capability.js';
import { asFhirError, FhirError } from '../fhir/errors.js';
import { createServices, type ServiceOptions } from '../app/services.js';
import type { Services } from '../fhir/services.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { readBody } from './body.js';
import { AuditLog, type ReadAudit } from '../security/audit.js';
import { DEFAULT_HTTP_LIMITS, harden, principalOfResponse, type HttpLimits } from './hardening.js';
import { dispatcher } from '../app/pipeline.js';
import { describeSecurity, smartConfiguration, type SmartEndpoints } from '../security/smart-configuration.js';
import type { TokenVerifier } from '../security/tokens.js';
import type { DpopVerifier } from '../security/dpop.js';
import { checkAcceptable, send } from './format.js';
import type { Metrics } from './metrics.js';
import { mountOperability, type MetricsOptions } from './operability.js';
import type { Readiness } from './readiness.js';
import { jsonLog, requestLog, type LogFn } from './log.js';
import { mountWebapp } from '../webapp/mount.js';
import { withSubscriptionTopics } from '../subscriptions/capability.js';
import { withTerminologyFeatures } from '../terminology/capability-statement.js';
import { RELEASE } from '../app/release.js';
import { headAsGet } from './head.js';
import { subscriptionSockets, type SubscriptionSockets } from './websocket.js';

export interface AppOptions extends ServiceOptions {
  log?: LogFn;
  version?: string;
  /** Authentication: bearer tokens verified, SMART scopes enforced. Absent: off (loopback only; see config.ts). */
  security?: { tokens: TokenVerifier; smart: SmartEndpoints; dpop?: DpopVerifier };
  /** CORS, rate and query limits in front of the handlers. */
  http?: HttpLimits;
  /** Keep the audit trail (an AuditEvent per request on patient data). */
  audit?: boolean;
  /** Reads and searches: an AuditEvent each (default), or grouped per flush interval. */
  readAudit?: ReadAudit;
  /** The most audit events kept while the database cannot take them (AUDIT_QUEUE_LIMIT). */
  auditQueueLimit?: number;
  /** `GET /metrics`: on (loopback clients only) unless turned off or opened. */
  metrics?: MetricsOptions;
  /** The caller loads more at start (terminology, pathways…) and says when: `readiness.done(STARTUP_LOADING)`. */
  startupLoading?: boolean;
}

export { STARTUP_LOADING } from './operability.js';

export interface App {
  app: express.Express;
  services: Services;
  /** Resolves when start-up work (stored SearchParameters) is done; serve after it. */
  ready: Promise<void>;
  /** Runs a FHIR request in process, as HTTP would (start-up loading of the shipped examples). */
  dispatch: (req: FhirRequest) => Promise<FhirResponse>;
  /** The app's Prometheus registry and what records into it (the scheduled jobs). */
  metrics: Metrics;
  /** What `/readyz` answers from: start-up work done, not draining. */
  readiness: Readiness;
  /** Websocket Subscriptions: the listener's `upgrade` handler (src/http/websocket.ts). */
  sockets: SubscriptionSockets;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** Builds the HTTP app over the given services; everything stateful comes in through `options`. */
export function buildApp(options: AppOptions): App {
  const { ready, ...services } = createServices(options);
  const baseUrl = services.baseUrl;
  const log = options.log ?? jsonLog;
  const version = options.version ?? RELEASE.version;
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');

  // the server's own requests (loading examples) are not the audit trail's business; clients' are
  const auditOptions = { maxQueued: options.auditQueueLimit };
  const auditLog = options.audit ? new AuditLog(services.store, log, options.readAudit, auditOptions) : undefined;
  services.auditLog = auditLog;
  const dispatchAs = dispatcher(services, auditLog);
  const dispatch = dispatcher(services)(undefined);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // before the request log: its 'finish' listener (which puts HEAD back) must run before the log's
  app.use(headAsGet());
  app.use(requestLog(log));
  const { metrics, readiness } = mountOperability(app, { ...options, basePath, services, started: ready });

  mountWebapp(app, { basePath, auth: options.security?.smart, warm: options.startupLoading });
  harden(app, basePath, options.http ?? DEFAULT_HTTP_LIMITS, options.security?.tokens, options.security?.dpop);
  if (options.security) {
    const doc = smartConfiguration(options.security.smart);
    app.get(`${basePath}/.well-known/smart-configuration`, (_req, res) => {
      res.type('application/json').send(JSON.stringify(doc));
    });
  }

  const fhir = fhirHandler(services, options, version, dispatchAs, log);
  app.use(basePath || '/', fhir);

  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type('application/fhir+json')
      .send(JSON.stringify(new FhirError('not-found', 'Not found').toOutcome()));
  });
  // whatever a middleware threw (Express hands it here): an OperationOutcome too, never Express's HTML page
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => answerError(req, res, err, log));
  const security = options.security;
  const sockets = subscriptionSockets(services, basePath, security?.tokens, undefined, security?.dpop);
  return { app, services, ready, dispatch, metrics, readiness, sockets };
}

type Dispatch = ReturnType<typeof dispatcher>;

/** The FHIR REST endpoint: `metadata` (and `GET [base]`) here, everything else through the request pipeline. */
function fhirHandler(services: Services, options: AppOptions, version: string, dispatchAs: Dispatch, log: LogFn) {
  return async (req: Request, res: Response) => {
    try {
      checkAcceptable(req);
      const path = req.path.split('/').filter(Boolean).map(decodeSegment);
      // the base URL answers a FHIR client as `metadata` does (a browser was sent to /app/ before this)
      if (req.method === 'GET' && (path.length === 0 || (path.length === 1 && path[0] === 'metadata'))) {
        send(req, res, 200, metadata(req, services, options, version));
        return;
      }
      const principal = principalOfResponse(res);
      if (!METHODS.has(req.method)) throw new FhirError('not-allowed', `Method ${req.method} is not supported`);
      const body =
        req.method === 'GET'
          ? undefined
          : await readBody(req, services.limits.maxBodyBytes, services.limits.maxJsonDepth);
      const out = await dispatchAs(principal, req.socket.remoteAddress)(fhirRequestOf(req, path, body));
      if (out.text) sendText(res, out.status, out.text, out.headers);
      else send(req, res, out.status, out.resource ?? out.raw, out.headers);
    } catch (err) {
      answerError(req, res, err, log);
    }
  };
}

/** A response that is not FHIR JSON (an NDJSON file, a Bulk Data manifest): its own media type, as is. */
function sendText(res: Response, status: number, text: { contentType: string; body: string }, headers = {}): void {
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v as string);
  res.setHeader('Content-Type', `${text.contentType}; charset=utf-8`);
  res.end(text.body);
}

/** `GET [base]/metadata`: the CapabilityStatement, or the TerminologyCapabilities (R4 §3.1.0.13). */
function metadata(req: Request, services: Services, options: AppOptions, version: string): Resource {
  const mode = req.query.mode;
  if (mode !== undefined && mode !== 'full' && mode !== 'normative' && mode !== 'terminology') {
    throw new FhirError('invalid', { message: `Unknown metadata mode '${String(mode)}'`, expression: 'mode' });
  }
  if (mode === 'terminology') return terminologyCapabilities(services, version);
  const smart = options.security?.smart;
  const statement = capabilityStatement(
    services,
    { version, date: RELEASE.date },
    smart && {
      tokenEndpoint: smart.tokenEndpoint,
      authorizationEndpoint: smart.authorizationEndpoint,
      cors: (options.http?.corsOrigins.length ?? 0) > 0,
    },
  );
  return withTerminologyFeatures(withSubscriptionTopics(smart ? describeSecurity(statement, smart) : statement));
}

/**
 * An error as an OperationOutcome. A 5xx names the request id (also in X-Request-Id), so an operator
 * finds the log line; a bug (500) is logged with its stack under that id, and its detail is not shown.
 * A response already sent (a 408 answered by the listener while the body was awaited) is left alone.
 */
function answerError(req: Request, res: Response, err: unknown, log: LogFn): void {
  if (res.headersSent) return;
  const fe = asFhirError(err);
  const requestId = res.locals.requestId as string | undefined;
  if (fe.category === 'internal') {
    const origin = fe.origin as Error | undefined;
    const path = req.originalUrl.split('?')[0];
    log({ level: 'error', requestId, method: req.method, path, error: String(origin?.stack ?? origin) });
  }
  const outcome = fe.toOutcome();
  if (fe.status >= 500 && requestId) {
    const named = (i: OperationOutcomeIssue) => ({
      ...i,
      diagnostics: `${i.diagnostics ?? ''} (request id ${requestId})`.trim(),
    });
    outcome.issue = outcome.issue.map(named);
  }
  send(req, res, fe.status, outcome, fe.headers);
}

/** The plain FhirRequest the handlers see: method, path segments, query pairs, the headers FHIR uses, the body. */
function fhirRequestOf(req: Request, path: string[], body: unknown): FhirRequest {
  return {
    method: req.method as FhirRequest['method'],
    path,
    query: [...new URLSearchParams(req.originalUrl.split('?')[1] ?? '')],
    headers: {
      ifMatch: header(req, 'if-match'),
      ifNoneExist: header(req, 'if-none-exist'),
      ifNoneMatch: header(req, 'if-none-match'),
      ifModifiedSince: header(req, 'if-modified-since'),
      prefer: header(req, 'prefer'),
      contentType: header(req, 'content-type'),
      acceptLanguage: header(req, 'accept-language'),
      provenance: provenanceHeader(header(req, 'x-provenance')),
    },
    body,
  };
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new FhirError('invalid', `Malformed URL segment '${s.slice(0, 80)}'`);
  }
}

/** `X-Provenance` must be a Provenance naming its agents; the server fills in target and recorded. */
function provenanceHeader(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // header bytes arrive as Latin-1 characters; the JSON in them is UTF-8 (Norwegian letters)
  const value = Buffer.from(raw, 'latin1').toString('utf8');
  let parsed: { resourceType?: unknown; agent?: unknown };
  try {
    parsed = JSON.parse(value) as typeof parsed;
  } catch {
    throw new FhirError('invalid', {
      message: 'X-Provenance must be a Provenance resource as JSON',
      expression: 'X-Provenance',
    });
  }
  if (parsed?.resourceType !== 'Provenance' || !Array.isArray(parsed.agent) || !parsed.agent.length) {
    throw new FhirError('invalid', {
      message: 'X-Provenance must be a Provenance with at least one agent',
      expression: 'X-Provenance',
    });
  }
  return value;
}
