import cors from 'cors';
import type { Express, NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { FhirError } from '../fhir/errors.js';
import type { Principal } from '../security/principal.js';
import type { DpopVerifier } from '../security/dpop.js';
import type { TokenVerifier } from '../security/tokens.js';
import { authenticate } from './auth.js';
import { send } from './format.js';

export interface HttpLimits {
  /** Origins a browser may call from (CORS); none: CORS off. */
  corsOrigins: string[];
  /** Requests per minute per client; 0: unlimited. Counted per process (each API node limits on its own). */
  rateLimitPerMinute: number;
  maxQueryParams: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { corsOrigins: [], rateLimitPerMinute: 0, maxQueryParams: 100 };

/** The principal authentication put on a request (none: authentication is off). */
export function principalOfResponse(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

function fail(req: Request, res: Response, err: FhirError): void {
  send(req, res, err.status, err.toOutcome(), err.headers);
}

/**
 * What stands in front of the FHIR handlers, in order: security headers (an API: no content may
 * be framed or run), CORS only for configured origins, the query-parameter limit, authentication
 * (the CapabilityStatement and the SMART discovery document stay public), then a rate limit per
 * client — its token's client id, or its address when it has none.
 */
export function harden(
  app: Express,
  basePath: string,
  limits: HttpLimits,
  tokens: TokenVerifier | undefined,
  dpop?: DpopVerifier,
): void {
  const at = basePath || '/';
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginResourcePolicy: { policy: limits.corsOrigins.length ? 'cross-origin' : 'same-origin' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  if (limits.corsOrigins.length) app.use(corsFor(limits.corsOrigins));
  app.use(at, queryParameterLimit(limits.maxQueryParams));
  if (tokens) app.use(at, authentication(tokens, dpop));
  if (limits.rateLimitPerMinute > 0) app.use(at, rateLimitPerClient(limits.rateLimitPerMinute));
}

/** CORS for the configured origins: the FHIR methods, the headers FHIR clients send and read. */
function corsFor(origins: string[]) {
  return cors({
    origin: origins,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Accept',
      'If-Match',
      'If-None-Exist',
      'If-None-Match',
      'If-Modified-Since',
      'Prefer',
      'X-Provenance',
      'DPoP',
    ],
    exposedHeaders: [
      'Location',
      'ETag',
      'Last-Modified',
      'Content-Location',
      'X-Request-Id',
      'DPoP-Nonce',
      'WWW-Authenticate',
    ],
    maxAge: 600,
  });
}

/** More query parameters than the limit: 400 `too-costly`, before any of them is parsed. */
function queryParameterLimit(max: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const query = req.originalUrl.split('?')[1];
    const count = query ? query.split('&').filter(Boolean).length : 0;
    if (count <= max) return next();
    const message = `The request has ${count} query parameters; the limit is ${max}`;
    fail(req, res, new FhirError('invalid', { message, code: 'too-costly' }));
  };
}

/**
 * What a client reads before it has a token: the CapabilityStatement (at `metadata` and, for a FHIR
 * client, the base itself) and SMART discovery.
 */
const PUBLIC_PATHS = new Set(['/', '/metadata', '/.well-known/smart-configuration']);

/** A verified bearer token on every request but the public ones. */
function authentication(tokens: TokenVerifier, dpop?: DpopVerifier) {
  return (req: Request, res: Response, next: NextFunction) => {
    const open = req.method === 'GET' && PUBLIC_PATHS.has(req.path);
    if (open) return next();
    authenticate(req, tokens, dpop).then(
      (principal) => {
        res.locals.principal = principal;
        // RFC 9449 §9: the nonce for the client's next proof, on every answer to a DPoP request
        if (principal.dpopJkt && dpop?.nonces) res.setHeader('DPoP-Nonce', dpop.nonces.current());
        next();
      },
      (err: FhirError) => fail(req, res, err),
    );
  };
}

/** Requests per minute per client: its token's client id, or its address when it has none (429 past it). */
function rateLimitPerClient(perMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req, res) => {
      const p = principalOfResponse(res);
      return p ? `client:${p.clientId ?? p.subject}` : `ip:${ipKeyGenerator(req.ip ?? '')}`;
    },
    handler: (req, res) =>
      fail(
        req,
        res,
        new FhirError(
          'too-many',
          'Too many requests from this client: slow down and retry after the Retry-After interval',
        ),
      ),
  });
}
