import type {
  CapabilityStatementRestResourceInteraction,
  CapabilityStatementRestInteraction,
} from '@medplum/fhirtypes';
import { FhirError } from './errors.js';
import { parseIfMatch } from './ids.js';
import { processBundle } from './interactions/bundle.js';
import { history } from './interactions/history.js';
import { read, vread } from './interactions/read.js';
import { writeResponse } from './interactions/respond.js';
import { requireType } from './interactions/resource-checks.js';
import { searchCompartment, searchType } from './interactions/search.js';
import * as write from './interactions/write.js';
import { parsePrefer, type FhirRequest, type FhirResponse } from './request.js';
import { runOperation } from './operations/run.js';
import type { Services } from './services.js';
import type { Tx } from '../storage/types.js';

/**
 * The one table of what the server does. Routing and the CapabilityStatement are both generated from
 * it, so /metadata cannot claim an interaction that has no handler (nor hide one that has).
 */
export type Handler = (
  svc: Services,
  req: FhirRequest,
  dispatch: (req: FhirRequest) => Promise<FhirResponse>,
) => Promise<FhirResponse>;

export interface Route {
  method: FhirRequest['method'];
  /** Path shape: literal segments, `:type`, `:id`, `:vid`, `$op`. */
  shape: string;
  /** The CapabilityStatement interaction code; none for metadata itself. */
  interaction?: CapabilityStatementRestResourceInteraction['code'] | CapabilityStatementRestInteraction['code'];
  level: 'system' | 'type' | 'instance';
  /** Matches only with (or only without) a query string: conditional update/patch/delete. */
  conditional?: boolean;
  handler: Handler;
  /**
   * For a write interaction, the write itself inside a caller's transaction: the handler runs it in a
   * transaction of its own, and a batch or transaction Bundle runs each entry's through the same route.
   */
  write?: Write;
}

/** A write interaction in the caller's transaction; a transaction Bundle gives a create the id it assigned. */
export type Write = (svc: Services, req: FhirRequest, tx: Tx, assignedId?: string) => Promise<write.WriteResult>;

/** A write route: its handler runs the write in its own transaction and answers per Prefer. */
function writing(route: Omit<Route, 'handler' | 'write'>, fn: Write): Route {
  const handler: Handler = async (svc, req) => {
    const result = await svc.store.transaction((tx) => fn(svc, req, tx));
    return writeResponse(svc, result, parsePrefer(req.headers.prefer));
  };
  return { ...route, handler, write: fn };
}

const criteriaOf = (req: FhirRequest) =>
  new URLSearchParams(req.query.filter(([k]) => k !== '_format' && k !== '_pretty')).toString();
const ifMatch = (req: FhirRequest) => parseIfMatch(req.headers.ifMatch);

export const ROUTES: Route[] = [
  { method: 'GET', shape: ':type/:id', interaction: 'read', level: 'instance', handler: read },
  { method: 'GET', shape: ':type/:id/_history/:vid', interaction: 'vread', level: 'instance', handler: vread },
  writing({ method: 'PUT', shape: ':type/:id', interaction: 'update', level: 'instance' }, (svc, req, tx) =>
    write.update(svc, tx, requireType(svc, req.path[0]), req.path[1], req.body, { ifMatch: ifMatch(req) }),
  ),
  writing({ method: 'PUT', shape: ':type', interaction: 'update', level: 'type', conditional: true }, (svc, req, tx) =>
    write.conditionalUpdate(svc, tx, requireType(svc, req.path[0]), criteriaOf(req), req.body, {
      ifMatch: ifMatch(req),
    }),
  ),
  writing({ method: 'PATCH', shape: ':type/:id', interaction: 'patch', level: 'instance' }, (svc, req, tx) =>
    write.patch(svc, tx, requireType(svc, req.path[0]), req.path[1], req.body, { ifMatch: ifMatch(req) }),
  ),
  writing({ method: 'PATCH', shape: ':type', interaction: 'patch', level: 'type', conditional: true }, (svc, req, tx) =>
    write.conditionalPatch(svc, tx, requireType(svc, req.path[0]), criteriaOf(req), req.body, {
      ifMatch: ifMatch(req),
    }),
  ),
  writing({ method: 'DELETE', shape: ':type/:id', interaction: 'delete', level: 'instance' }, (svc, req, tx) =>
    write.remove(svc, tx, requireType(svc, req.path[0]), req.path[1], { ifMatch: ifMatch(req) }),
  ),
  writing(
    { method: 'DELETE', shape: ':type', interaction: 'delete', level: 'type', conditional: true },
    (svc, req, tx) => write.conditionalDelete(svc, tx, requireType(svc, req.path[0]), criteriaOf(req)),
  ),
  { method: 'GET', shape: ':type/:id/_history', interaction: 'history-instance', level: 'instance', handler: history },
  { method: 'GET', shape: ':type/_history', interaction: 'history-type', level: 'type', handler: history },
  writing({ method: 'POST', shape: ':type', interaction: 'create', level: 'type' }, (svc, req, tx, assignedId) => {
    // R4 §3.1.0.3 create takes no parameters but _format: criteria here would be silently ignored
    if (criteriaOf(req)) {
      const message = `POST ${req.path[0]} creates and takes no search parameters: use If-None-Exist for a conditional create, or POST ${req.path[0]}/_search to search`;
      throw new FhirError('invalid', { message, expression: 'url' });
    }
    return write.create(svc, tx, requireType(svc, req.path[0]), req.body, req.headers.ifNoneExist, assignedId);
  }),
  { method: 'GET', shape: ':type', interaction: 'search-type', level: 'type', handler: searchType },
  {
    method: 'GET',
    shape: ':type/:id/:type',
    interaction: 'search-type',
    level: 'instance',
    handler: searchCompartment,
  },
  { method: 'POST', shape: ':type/_search', interaction: 'search-type', level: 'type', handler: searchType },
  { method: 'GET', shape: '_history', interaction: 'history-system', level: 'system', handler: history },
  // operations: one route per level and method; the OPERATIONS table says which exist where
  ...(['GET', 'POST'] as const).flatMap((method) =>
    (['$op', ':type/$op', ':type/:id/$op'] as const).map((shape, i): Route => ({
      method,
      shape,
      level: (['system', 'type', 'instance'] as const)[i],
      handler: runOperation,
    })),
  ),
  // an operation that DELETE serves (a Bulk Data status URL cancels its job); the table says which
  { method: 'DELETE', shape: '$op', level: 'system', handler: runOperation },
  // a Bundle's entries are routed by this same table (findRoute), so routing is decided in one place
  {
    method: 'POST',
    shape: '',
    interaction: 'transaction',
    level: 'system',
    handler: (svc, req, dispatch) => processBundle(svc, req, dispatch, findRoute),
  },
];

/** batch is served by the same handler as transaction; the CapabilityStatement lists both. */
export const SYSTEM_INTERACTIONS: CapabilityStatementRestInteraction['code'][] = [
  'transaction',
  'batch',
  'history-system',
];

function matches(route: Route, req: FhirRequest): boolean {
  const shape = route.shape ? route.shape.split('/') : [];
  if (shape.length !== req.path.length) return false;
  const hasQuery = req.query.some(([k]) => k !== '_format' && k !== '_pretty');
  if (route.conditional !== undefined && route.conditional !== hasQuery) return false;
  return shape.every((s, i) => {
    const seg = req.path[i];
    if (s === ':type') return /^[A-Z][A-Za-z]+$/.test(seg);
    if (s === ':id' || s === ':vid') return !seg.startsWith('_') && !seg.startsWith('$');
    if (s === '$op') return /^\$[A-Za-z][A-Za-z0-9-]*$/.test(seg);
    return s === seg;
  });
}

export function findRoute(req: FhirRequest): Route {
  const route = ROUTES.find((r) => r.method === req.method && matches(r, req));
  if (route) return route;
  // the URL exists for some method: 405; nothing lives there: 404
  const any = ROUTES.some((r) => matches(r, { ...req, query: [] }) || matches(r, req));
  if (any) throw new FhirError('not-allowed', `${req.method} is not allowed on /${req.path.join('/')}`);
  throw new FhirError('not-found', `No FHIR endpoint at /${req.path.join('/')}`);
}
