import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { etag } from './ids.js';
import type { VersionRow } from './store.js';

/** Bundle pieces shared by history, search and transaction responses. */
export function fullUrl(baseUrl: string, type: string, id: string): string {
  return `${baseUrl}/${type}/${id}`;
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Headers for a single stored version: ETag, Last-Modified and (for writes) Location. */
export function versionHeaders(baseUrl: string, row: VersionRow, withLocation = false): Record<string, string> {
  const h: Record<string, string> = { ETag: etag(row.version), 'Last-Modified': httpDate(row.last_updated) };
  if (withLocation) h.Location = `${fullUrl(baseUrl, row.type, row.id)}/_history/${row.version}`;
  return h;
}

/** A history entry (R4 §3.1.0.11: request and response, resource absent for deletions). */
export function historyEntry(baseUrl: string, row: VersionRow): BundleEntry {
  const method = (row.method ?? (row.deleted ? 'DELETE' : 'PUT')) as 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  const entry: BundleEntry = {
    fullUrl: fullUrl(baseUrl, row.type, row.id),
    request: {
      method: method === 'PATCH' ? 'PATCH' : method,
      url: method === 'POST' ? row.type : `${row.type}/${row.id}`,
    },
    response: {
      status: row.deleted ? '204' : method === 'POST' ? '201' : '200',
      etag: etag(row.version),
      lastModified: new Date(row.last_updated).toISOString(),
    },
  };
  if (!row.deleted && row.content) entry.resource = JSON.parse(row.content) as Resource;
  return entry;
}

export function bundle(
  type: Bundle['type'],
  entries: BundleEntry[],
  links: BundleLink[],
  total: number | undefined,
  now: Date,
): Bundle {
  return {
    resourceType: 'Bundle',
    id: crypto.randomUUID(),
    meta: { lastUpdated: now.toISOString() },
    type,
    ...(total !== undefined ? { total } : {}),
    ...(links.length ? { link: links } : {}),
    entry: entries,
  };
}

/** A URL with the given query parameters (in order). */
export function withQuery(url: string, params: ReadonlyArray<[string, string]>): string {
  // ':' and '/' are legal in a query (RFC 3986 §3.4) and keep links readable: subject=Patient/1
  const enc = (s: string) => encodeURIComponent(s).replace(/%3A/g, ':').replace(/%2F/g, '/');
  const q = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  return q ? `${url}?${q}` : url;
}
