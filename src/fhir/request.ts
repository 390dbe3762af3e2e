import type { Resource } from '@medplum/fhirtypes';

/**
 * The plain request and response every handler deals in: HTTP (or a Bundle entry) is only an adapter
 * that builds a FhirRequest and writes out a FhirResponse.
 */
export interface FhirRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path segments below the base URL, e.g. ['Patient', '123', '_history', '2']. */
  path: string[];
  /** Query parameters in order, repeated names kept (AND in search). */
  query: [string, string][];
  headers: {
    ifMatch?: string;
    ifNoneExist?: string;
    ifNoneMatch?: string;
    ifModifiedSince?: string;
    prefer?: string;
    contentType?: string;
    acceptLanguage?: string;
    /** `X-Provenance`: a Provenance (JSON) the client asks to be stored with its write. */
    provenance?: string;
  };
  body?: unknown;
}

export interface FhirResponse {
  status: number;
  /** A resource to send, or `raw` JSON already serialised (the stored form, sent as is). */
  resource?: Resource;
  raw?: string;
  headers?: Record<string, string>;
  /** A body that is not a FHIR resource (an NDJSON file, a Bulk Data manifest), sent as is with its type. */
  text?: { contentType: string; body: string };
  /**
   * What a `text` response shows, for the audit trail (references or URLs); on a `raw` one, the one
   * resource it is (`Type/id`), so the audit need not parse it when it holds no reference to a patient.
   */
  shows?: string[];
}

/** The `Prefer` header's parts that change behaviour (RFC 7240; R4 §3.1.0.5.2, §3.1.1.5.x). */
export interface Preferences {
  return?: 'minimal' | 'representation' | 'OperationOutcome';
  handling?: 'strict' | 'lenient';
  respondAsync?: boolean;
}

export function parsePrefer(header: string | undefined): Preferences {
  const out: Preferences = {};
  if (!header) return out;
  for (const part of header.split(/[,;]/)) {
    const [k, v] = part.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (k === 'return' && (v === 'minimal' || v === 'representation' || v === 'OperationOutcome')) out.return = v;
    if (k === 'handling' && (v === 'strict' || v === 'lenient')) out.handling = v;
    if (k === 'respond-async') out.respondAsync = true;
  }
  return out;
}
