import type { Binary, Bundle, BundleEntry, BundleEntryResponse, Resource } from '@medplum/fhirtypes';
import type { Tx } from '../../storage/types.js';
import { fullUrl } from '../bundles.js';
import { asFhirError, FhirError } from '../errors.js';
import { etag, newId } from '../ids.js';
import { parsePrefer, type FhirRequest, type FhirResponse } from '../request.js';
import { findMatches } from '../search/execute.js';
import type { Services } from '../services.js';
import { writeOutcome } from './respond.js';
import { reactive } from './reactions.js';
import type { Route } from '../routes.js';
import * as write from './write.js';

/**
 * batch and transaction (R4 §3.1.0.11.2). Entries are processed DELETE, POST, PUT/PATCH, GET; in a
 * transaction all writes share one database transaction, `urn:uuid:` fullUrls and conditional
 * references (`Patient?identifier=…`) are resolved first, and any failure rolls everything back with
 * an OperationOutcome naming the entry. GETs run after the writes have committed.
 */
export type Dispatch = (req: FhirRequest) => Promise<FhirResponse>;

const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

interface Parsed {
  index: number;
  entry: BundleEntry;
  req: FhirRequest;
  /** The server's route table, which decides what an entry's method and url mean, as for any request. */
  routeOf: RouteOf;
}

/** Finds the route of a request (routes.ts `findRoute`), handed in so this module does not import the table. */
export type RouteOf = (req: FhirRequest) => Route;

export async function processBundle(
  svc: Services,
  req: FhirRequest,
  dispatch: Dispatch,
  routeOf: RouteOf,
): Promise<FhirResponse> {
  const bundle = req.body as Bundle;
  if (bundle?.resourceType !== 'Bundle')
    throw new FhirError('invalid', { message: 'POST to the base URL takes a Bundle', expression: 'resourceType' });
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw new FhirError('invalid', {
      message: `Bundle.type must be transaction or batch, not '${bundle.type}'`,
      expression: 'Bundle.type',
    });
  }
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries))
    throw new FhirError('invalid', { message: 'Bundle.entry must be an array', expression: 'Bundle.entry' });
  if (entries.length > svc.limits.maxBundleEntries) {
    throw new FhirError('too-large', {
      message: `The Bundle has ${entries.length} entries; the limit is ${svc.limits.maxBundleEntries}`,
      expression: 'Bundle.entry',
    });
  }
  const prefer = parsePrefer(req.headers.prefer);
  if (bundle.type === 'batch') return batch(svc, entries, dispatch, prefer.return, routeOf);
  return transaction(svc, entries, dispatch, prefer.return, routeOf);
}

function parseEntry(svc: Services, entry: BundleEntry, index: number, routeOf: RouteOf): Parsed {
  const where = `Bundle.entry[${index}]`;
  const method = entry?.request?.method;
  const url = entry?.request?.url;
  if (!method || !(method in ORDER) || typeof url !== 'string' || !url) {
    throw new FhirError('invalid', {
      message: 'Each entry needs request.method and request.url',
      expression: `${where}.request`,
    });
  }
  const local = url.startsWith(`${svc.baseUrl}/`) ? url.slice(svc.baseUrl.length + 1) : url;
  const [path, query = ''] = local.split('?', 2) as [string, string?];
  const body = method === 'PATCH' ? patchBody(entry.resource, where) : entry.resource;
  return {
    index,
    entry,
    routeOf,
    req: {
      method: method === 'HEAD' ? 'GET' : (method as FhirRequest['method']),
      path: path.split('/').filter(Boolean),
      query: [...new URLSearchParams(query)],
      headers: {
        ifMatch: entry.request!.ifMatch,
        ifNoneExist: entry.request!.ifNoneExist,
        ifNoneMatch: entry.request!.ifNoneMatch,
        ifModifiedSince: entry.request!.ifModifiedSince,
      },
      body,
    },
  };
}

/** PATCH in a Bundle carries the JSON Patch in a Binary (R4 §3.1.0.6). */
function patchBody(resource: Resource | undefined, where: string): unknown {
  const bin = resource as Binary | undefined;
  if (bin?.resourceType !== 'Binary' || !bin.data) {
    throw new FhirError('invalid', {
      message: 'A PATCH entry needs a Binary resource holding the JSON Patch',
      expression: `${where}.resource`,
    });
  }
  try {
    return JSON.parse(Buffer.from(bin.data, 'base64').toString('utf8'));
  } catch {
    throw new FhirError('invalid', {
      message: 'The Binary of a PATCH entry does not hold JSON',
      expression: `${where}.resource.data`,
    });
  }
}

function byProcessingOrder(a: Parsed, b: Parsed): number {
  return ORDER[a.req.method] - ORDER[b.req.method] || a.index - b.index;
}

async function batch(
  svc: Services,
  entries: BundleEntry[],
  dispatch: Dispatch,
  ret: string | undefined,
  routeOf: RouteOf,
): Promise<FhirResponse> {
  const responses: BundleEntry[] = new Array(entries.length);
  const parsed: Parsed[] = [];
  entries.forEach((entry, index) => {
    try {
      parsed.push(parseEntry(svc, entry, index, routeOf));
    } catch (err) {
      responses[index] = errorEntry(asFhirError(err));
    }
  });
  for (const p of parsed.sort(byProcessingOrder)) {
    try {
      if (p.req.method === 'GET') responses[p.index] = responseEntry(await dispatch(p.req));
      else responses[p.index] = await svc.store.transaction(async (tx) => writeEntry(svc, tx, p, ret));
    } catch (err) {
      responses[p.index] = errorEntry(asFhirError(err).within(`Bundle.entry[${p.index}]`));
    }
  }
  return { status: 200, resource: { resourceType: 'Bundle', id: newId(), type: 'batch-response', entry: responses } };
}

async function transaction(
  svc: Services,
  entries: BundleEntry[],
  dispatch: Dispatch,
  ret: string | undefined,
  routeOf: RouteOf,
): Promise<FhirResponse> {
  const parsed = entries.map((e, i) => parseEntry(svc, e, i, routeOf));
  checkDuplicates(parsed);
  // every entry's permissions before anything runs: a refused entry fails the whole transaction
  for (const p of parsed) {
    try {
      svc.access.authorize(svc, svc.access.needsOf(p.routeOf(p.req), p.req));
    } catch (err) {
      throw asFhirError(err).within(`Bundle.entry[${p.index}]`);
    }
  }
  const responses: BundleEntry[] = new Array(entries.length);
  const results = new Map<number, write.WriteResult>();
  const ordered = [...parsed].sort(byProcessingOrder);
  await svc.store.transaction(async (tx) => {
    const run = async (p: Parsed, step: () => Promise<write.WriteResult>) => {
      try {
        results.set(p.index, await step());
      } catch (err) {
        throw asFhirError(err).within(`Bundle.entry[${p.index}]`);
      }
    };
    // deletions first, so a conditional create below cannot match what this transaction deletes
    for (const p of ordered) if (p.req.method === 'DELETE') await run(p, () => writeResult(svc, tx, p));
    const ids = await resolveIds(svc, tx, ordered);
    for (const p of ordered) {
      if (p.req.method === 'GET' || p.req.method === 'DELETE') continue;
      await run(p, async () => {
        // a Bundle stored as a resource (a document, say) resolves its own urn:uuid references
        const rewrite = p.req.body && p.req.method !== 'PATCH' && (p.req.body as Resource).resourceType !== 'Bundle';
        if (rewrite) await rewriteReferences(svc, tx, p.req.body, ids);
        const matched = ids.matched.get(p.index);
        if (matched) return matched;
        if (p.req.method === 'POST') p.req.headers.ifNoneExist = undefined; // resolved in resolveIds
        return writeResult(svc, tx, p, ids.assigned.get(p.index));
      });
    }
    if (parsed.some((p) => reactive(svc, p.req.path[0]))) await refresh(svc, tx, results);
  });
  for (const [index, result] of results) responses[index] = resultEntry(svc, result, ret);
  for (const p of ordered) {
    if (p.req.method !== 'GET') continue;
    responses[p.index] = responseEntry(await dispatch(p.req));
  }
  return {
    status: 200,
    resource: { resourceType: 'Bundle', id: newId(), type: 'transaction-response', entry: responses },
  };
}

/** R4 §3.1.0.11.2: writes whose identities overlap make the transaction fail. */
function checkDuplicates(parsed: Parsed[]): void {
  const seen = new Map<string, number>();
  const claim = (key: string, p: Parsed, what: string) => {
    if (seen.has(key)) {
      throw new FhirError('invalid', {
        message: `${what} appears in entries ${seen.get(key)} and ${p.index}`,
        expression: `Bundle.entry[${p.index}]`,
      });
    }
    seen.set(key, p.index);
  };
  for (const p of parsed) {
    if (p.req.method === 'GET') continue;
    if (p.entry.fullUrl) claim(`full:${p.entry.fullUrl}`, p, `fullUrl '${p.entry.fullUrl}'`);
    if (p.req.path.length === 2) claim(`res:${p.req.path.join('/')}`, p, `${p.req.path.join('/')}`);
  }
}

interface Ids {
  /** fullUrl (urn:uuid:…, or an absolute URL) → Type/id in this server. */
  byFullUrl: Map<string, string>;
  /** entry index → the id a POST entry will be created with. */
  assigned: Map<number, string>;
  /** entry index → an existing resource a conditional create matched. */
  matched: Map<number, write.WriteResult>;
}

/** Ids for every POST (new, or the match of its If-None-Exist), and the Type/id behind each fullUrl. */
async function resolveIds(svc: Services, tx: Tx, ordered: Parsed[]): Promise<Ids> {
  const ids: Ids = { byFullUrl: new Map(), assigned: new Map(), matched: new Map() };
  for (const p of ordered) {
    const type = p.req.path[0];
    if (p.req.method === 'POST' && p.req.path.length === 1) {
      let target: string;
      if (p.req.headers.ifNoneExist) {
        try {
          await write.lockCriteria(tx, type, p.req.headers.ifNoneExist);
          const matches = await findMatches(svc, type, p.req.headers.ifNoneExist, tx);
          if (matches.length > 1)
            throw new FhirError('precondition', {
              message: `If-None-Exist '${p.req.headers.ifNoneExist}' matches several ${type}`,
              code: 'multiple-matches',
            });
          if (matches.length === 1) {
            ids.matched.set(p.index, { status: 200, row: matches[0], existing: true });
            target = `${type}/${matches[0].id}`;
          } else target = assign(ids, p.index, type);
        } catch (err) {
          throw asFhirError(err).within(`Bundle.entry[${p.index}]`);
        }
      } else target = assign(ids, p.index, type);
      if (p.entry.fullUrl) ids.byFullUrl.set(p.entry.fullUrl, target);
    } else if (p.req.method === 'PUT' && p.req.path.length === 2 && p.entry.fullUrl) {
      ids.byFullUrl.set(p.entry.fullUrl, `${type}/${p.req.path[1]}`);
    }
  }
  return ids;
}

function assign(ids: Ids, index: number, type: string): string {
  const id = newId();
  ids.assigned.set(index, id);
  return `${type}/${id}`;
}

/** Rewrites references to other entries (by fullUrl) and conditional references, in place. */
async function rewriteReferences(svc: Services, tx: Tx, node: unknown, ids: Ids): Promise<void> {
  if (Array.isArray(node)) {
    for (const item of node) await rewriteReferences(svc, tx, item, ids);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'string') {
      const mapped = ids.byFullUrl.get(value);
      if (mapped) obj[key] = key === 'reference' ? mapped : `${svc.baseUrl}/${mapped}`;
      else if (key === 'reference' && /^urn:uuid:/.test(value)) {
        throw new FhirError('invalid', {
          message: `Reference '${value}' names no entry of this transaction`,
          expression: 'resource',
        });
      } else if (key === 'reference' && /^[A-Z][A-Za-z]+\?/.test(value)) {
        obj[key] = await resolveConditional(svc, tx, value);
      }
    } else await rewriteReferences(svc, tx, value, ids);
  }
}

async function resolveConditional(svc: Services, tx: Tx, ref: string): Promise<string> {
  const [type, criteria] = ref.split('?', 2);
  if (!svc.defs.resourceTypes.has(type))
    throw new FhirError('invalid', {
      message: `Unknown type in conditional reference '${ref}'`,
      expression: 'resource',
    });
  svc.access.authorize(svc, [{ type, action: 's' }]);
  const matches = await findMatches(svc, type, criteria, tx);
  if (matches.length !== 1) {
    throw new FhirError(matches.length ? 'precondition' : 'not-found', {
      message: `Conditional reference '${ref}' matches ${matches.length ? 'several resources' : 'nothing'}`,
      expression: 'resource',
    });
  }
  return `${type}/${matches[0].id}`;
}

/**
 * A later entry's reactions may write an earlier entry's resource again (completing one milestone
 * moves the due date of another the Bundle also wrote): each entry is answered with the version the
 * transaction leaves stored.
 */
async function refresh(svc: Services, tx: Tx, results: Map<number, write.WriteResult>): Promise<void> {
  const written = [...results.values()].filter((r) => r.row && !r.row.deleted);
  // the versions in one statement (a round trip per entry on PostgreSQL), the rows only of those written again
  const rids = written.map((r) => r.row!.rid).filter((rid): rid is number => rid !== undefined);
  const versions = await svc.store.currentVersions(rids, tx);
  for (const result of written) {
    const row = result.row!;
    if (row.rid !== undefined && (versions.get(row.rid) ?? 0) <= row.version) continue;
    const now = await svc.store.current(row.type, row.id, tx);
    if (now && now.version > row.version) result.row = now;
  }
}

async function writeEntry(svc: Services, tx: Tx, p: Parsed, ret: string | undefined): Promise<BundleEntry> {
  return resultEntry(svc, await writeResult(svc, tx, p), ret);
}

/** An entry's write, through the route the server's table gives its method and url (R4 §3.1.0.11.2). */
async function writeResult(svc: Services, tx: Tx, p: Parsed, assignedId?: string): Promise<write.WriteResult> {
  const route = p.routeOf(p.req);
  if (!route.write) {
    const message = `${p.req.method} ${p.req.path.join('/')} is not a write a Bundle entry can make`;
    throw new FhirError('invalid', { message, expression: 'request.url' });
  }
  svc.access.authorize(svc, svc.access.needsOf(route, p.req));
  return route.write(svc, p.req, tx, assignedId);
}

function resultEntry(svc: Services, result: write.WriteResult, ret: string | undefined): BundleEntry {
  const response: BundleEntryResponse = { status: statusText(result.status) };
  const entry: BundleEntry = { response };
  const row = result.row;
  if (row && !row.deleted) {
    entry.fullUrl = fullUrl(svc.baseUrl, row.type, row.id);
    response.location = `${row.type}/${row.id}/_history/${row.version}`;
    response.etag = etag(row.version);
    response.lastModified = new Date(row.last_updated).toISOString();
    if (ret === 'OperationOutcome') response.outcome = writeOutcome(result);
    else if (ret !== 'minimal') entry.resource = JSON.parse(row.content as string) as Resource;
  }
  return entry;
}

function responseEntry(res: FhirResponse): BundleEntry {
  const response: BundleEntryResponse = { status: statusText(res.status) };
  if (res.headers?.ETag) response.etag = res.headers.ETag;
  if (res.headers?.Location) response.location = res.headers.Location;
  const resource = res.resource ?? (res.raw ? (JSON.parse(res.raw) as Resource) : undefined);
  return resource ? { resource, response } : { response };
}

function errorEntry(err: FhirError): BundleEntry {
  return { response: { status: statusText(err.status), outcome: err.toOutcome() } };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  422: 'Unprocessable Entity',
};
function statusText(status: number): string {
  return REASONS[status] ? `${status} ${REASONS[status]}` : String(status);
}
