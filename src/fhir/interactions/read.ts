import type { Services } from '../services.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import { FhirError } from '../errors.js';
import { checkId, etag } from '../ids.js';
import { versionHeaders } from '../bundles.js';
import { applySummary } from '../summary.js';
import type { VersionRow } from '../store.js';
import { requireType } from './resource-checks.js';

/** read and vread (R4 §3.1.0.1–2), with conditional read (If-None-Match, If-Modified-Since → 304). */
export async function read(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const [type, id] = [requireType(svc, req.path[0]), checkId(req.path[1])];
  const row = await svc.store.current(type, id);
  if (!row) throw new FhirError('not-found', `${type}/${id} is not known`);
  if (row.deleted) {
    throw new FhirError('gone', `${type}/${id} was deleted`, { ETag: etag(row.version) });
  }
  return respondWithVersion(svc, req, row);
}

export async function vread(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const [type, id, , vid] = [
    requireType(svc, req.path[0]),
    checkId(req.path[1]),
    req.path[2],
    checkId(req.path[3], 'versionId'),
  ];
  // versions are 32-bit integers in storage: a longer number is no version (and must not reach the database)
  if (!/^\d{1,10}$/.test(vid) || Number(vid) > 2_147_483_647)
    throw new FhirError('not-found', `${type}/${id} has no version '${vid}'`);
  const row = await svc.store.version(type, id, Number(vid));
  if (!row) throw new FhirError('not-found', `${type}/${id} has no version ${vid}`);
  if (row.deleted)
    throw new FhirError('gone', `Version ${vid} of ${type}/${id} is a deletion`, { ETag: etag(row.version) });
  return respondWithVersion(svc, req, row);
}

function respondWithVersion(svc: Services, req: FhirRequest, row: VersionRow): FhirResponse {
  const headers = versionHeaders(svc.baseUrl, row);
  if (req.headers.ifNoneMatch && req.headers.ifNoneMatch.replace(/^W\//, '') === headers.ETag.replace(/^W\//, '')) {
    return { status: 304, headers };
  }
  if (req.headers.ifModifiedSince) {
    const since = Date.parse(req.headers.ifModifiedSince);
    // HTTP dates have whole seconds
    if (!Number.isNaN(since) && Math.floor(row.last_updated / 1000) * 1000 <= since) return { status: 304, headers };
  }
  const summary = req.query.find(([k]) => k === '_summary')?.[1];
  const elements = req.query.find(([k]) => k === '_elements')?.[1];
  if (summary || elements) {
    const resource = applySummary(svc.defs, JSON.parse(row.content as string), summary, elements?.split(','));
    return { status: 200, resource, headers };
  }
  return { status: 200, raw: row.content as string, headers, shows: [`${row.type}/${row.id}`] };
}
