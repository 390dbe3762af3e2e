import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import type { Storage } from '../storage/types.js';
import { health } from './health.js';
import { Metrics } from './metrics.js';
import { Readiness, readyz } from './readiness.js';
import { requestLabels } from './request-labels.js';

export interface MetricsOptions {
  /** Serve `GET /metrics` (METRICS=on, the default). */
  enabled?: boolean;
  /** Serve it to any client (METRICS_PUBLIC=true); by default to loopback clients only. */
  public?: boolean;
  /** Node's process metrics too (CPU, memory, event loop): the server's, not each test app's. */
  processMetrics?: boolean;
}

export interface Operability {
  basePath: string;
  services: Services;
  storage: Storage;
  /** Start-up work of the app itself (stored SearchParameters): not ready before it. */
  started: Promise<void>;
  /** Not ready either until the caller says `readiness.done(STARTUP_LOADING)`. */
  startupLoading?: boolean;
  metrics?: MetricsOptions;
}

/** What `/readyz` waits for when `startupLoading` is set (the server's terminology, pathways, measures…). */
export const STARTUP_LOADING = 'start-up loading';

/**
 * The endpoints an operator's tools use, none needing a token: `/healthz` (liveness), `/readyz`
 * (readiness) and `/metrics` (Prometheus); and the observer that counts each request under the FHIR
 * base, put before authentication and the rate limit so their refusals are counted too.
 */
export function mountOperability(app: Express, o: Operability): { metrics: Metrics; readiness: Readiness } {
  const { basePath, services, storage, metrics: options = {} } = o;
  const metrics = new Metrics(storage, () => services.auditLog, options.processMetrics);
  const readiness = new Readiness();
  readiness.waitFor('stored definitions');
  void o.started.then(() => readiness.done('stored definitions')).catch(() => undefined);
  if (o.startupLoading) readiness.waitFor(STARTUP_LOADING);
  app.get('/healthz', health(storage));
  app.get('/readyz', readyz(storage, readiness));
  if (options.enabled ?? true) {
    app.get('/metrics', metricsEndpoint(metrics, options.public ?? false));
    app.use(basePath || '/', observeRequests(metrics, services));
  }
  return { metrics, readiness };
}

function metricsEndpoint(metrics: Metrics, open: boolean): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!open && !isLoopbackAddress(req.socket.remoteAddress)) {
      next(new FhirError('forbidden', '/metrics is served to loopback clients only (METRICS_PUBLIC=true opens it)'));
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

/** Counts a request when its response is sent: labels from its route, its status, its time. */
function observeRequests(metrics: Metrics, services: Services): RequestHandler {
  return (req, res, next) => {
    const start = performance.now();
    const { method, path } = req; // relative to the FHIR base here; Express changes req.path later
    const query = req.originalUrl.split('?')[1] ?? '';
    res.once('finish', () => {
      const labels = requestLabels(services.defs.resourceTypes, method, path, query);
      metrics.observeRequest(labels, res.statusCode, (performance.now() - start) / 1000);
    });
    next();
  };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);
}
