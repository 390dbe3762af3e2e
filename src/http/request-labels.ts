import type { FhirRequest } from '../fhir/request.js';
import { findRoute } from '../fhir/routes.js';
import type { RequestLabels } from './metrics.js';

const UNKNOWN: RequestLabels = { interaction: 'unknown', type: '' };
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The metrics' labels of a request under the FHIR base: the interaction of the route it takes (an
 * operation's, 'capabilities' for /metadata, 'unknown' for no route) and the resource type the
 * route names, kept only when it is a type this server knows, so a client cannot make new series.
 */
export function requestLabels(types: ReadonlySet<string>, method: string, path: string, query: string): RequestLabels {
  if (!METHODS.has(method)) return UNKNOWN;
  let segments: string[];
  try {
    segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return UNKNOWN;
  }
  if (method === 'GET' && segments.length === 1 && segments[0] === 'metadata') {
    return { interaction: 'capabilities', type: '' };
  }
  const req: FhirRequest = {
    method: method as FhirRequest['method'],
    path: segments,
    query: [...new URLSearchParams(query)],
    headers: {},
  };
  try {
    const route = findRoute(req);
    // the last type of the shape: a compartment search (Patient/1/Observation) is of Observation
    const at = route.shape.split('/').lastIndexOf(':type');
    const type = at >= 0 && types.has(segments[at]) ? segments[at] : '';
    return { interaction: route.interaction ?? 'operation', type };
  } catch {
    return UNKNOWN;
  }
}
