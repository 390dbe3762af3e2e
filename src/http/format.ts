import type { Request, Response } from 'express';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { resourceToXml } from '../xml/write.js';
import { adapterXmlModel } from './xml.js';

/**
 * Response formats: JSON and XML (R4 §3.1.0.1.10 `_format`, Accept; XML per docs/xml.md). `_format` wins
 * over Accept; Turtle or any other format asked for explicitly is 406; `_pretty=true` indents.
 */
export type WireFormat = 'json' | 'xml';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'text/json']);
const XML_FORMATS = new Set(['xml', 'application/fhir+xml', 'application/xml', 'text/xml']);
const OTHER_FHIR = /turtle|ttl/;
const CONTENT_TYPE: Record<WireFormat, string> = {
  json: 'application/fhir+json; charset=utf-8',
  xml: 'application/fhir+xml; charset=utf-8',
};

/** The format the response is written in; 406 when the client asks only for one we do not write. */
export function responseFormat(req: Request): WireFormat {
  // an unencoded '+' (application/fhir+json) arrives as a space; clients rarely encode it
  const format = typeof req.query._format === 'string' ? req.query._format.toLowerCase().replace(/ /g, '+') : undefined;
  if (format !== undefined) {
    const base = format.split(';')[0].trim();
    if (JSON_FORMATS.has(base)) return 'json';
    if (XML_FORMATS.has(base)) return 'xml';
    throw new FhirError('not-acceptable', {
      message: `_format '${format}' is not supported: this server speaks JSON and XML`,
      expression: '_format',
    });
  }
  const accepted = acceptedFormat((req.headers.accept ?? '').toLowerCase());
  // no preference (R4 §3.1.0.1.10 leaves the format open): answer in the body's own format
  return accepted ?? (XML_FORMATS.has(contentTypeOf(req)) ? 'xml' : 'json');
}

function contentTypeOf(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Throws the 406 `responseFormat` would, before any work is done. */
export function checkAcceptable(req: Request): void {
  responseFormat(req);
}

/**
 * The Accept header's choice (RFC 9110 §12.5.1): the highest-weighted range we write, the first on a tie;
 * undefined when it states no preference (absent, or only wildcards). A browser (asking for text/html and
 * no FHIR type) keeps getting JSON, as before XML was offered, though it lists application/xml too.
 */
function acceptedFormat(accept: string): WireFormat | undefined {
  if (accept.includes('text/html') && !accept.includes('application/fhir+')) return 'json';
  let best: { format: WireFormat | undefined; q: number } | undefined;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    const wildcard = type === '*/*' || type === 'application/*';
    const format = wildcard ? undefined : formatOfRange(type);
    if (!(format || wildcard) || !(q > 0)) continue;
    // on a tie a named format wins over a wildcard
    if (!best || q > best.q || (q === best.q && format && !best.format)) best = { format, q };
  }
  if (best) return best.format;
  if (OTHER_FHIR.test(accept)) {
    throw new FhirError('not-acceptable', `Accept '${accept}' is not supported: this server speaks JSON and XML`);
  }
  return undefined;
}

function formatOfRange(type: string): WireFormat | undefined {
  if (JSON_FORMATS.has(type) || type.endsWith('+json')) return 'json';
  if (XML_FORMATS.has(type)) return 'xml';
  return undefined;
}

/** The format for answering, even when the request's own choice was refused (the 406 itself is JSON). */
function answerFormat(req: Request): WireFormat {
  try {
    return responseFormat(req);
  } catch {
    return 'json';
  }
}

export function send(
  req: Request,
  res: Response,
  status: number,
  body: Resource | string | undefined,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined || status === 204 || status === 304 ? undefined : serialise(req, body);
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (text === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', CONTENT_TYPE[answerFormat(req)]);
  res.end(text);
}

/** The body in the negotiated format; `raw` is stored JSON, sent as it is when JSON is asked for. */
function serialise(req: Request, body: Resource | string): string {
  const pretty = req.query._pretty === 'true';
  if (answerFormat(req) === 'xml') {
    const resource = (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
    return resourceToXml(adapterXmlModel(), resource, pretty);
  }
  if (typeof body === 'string') return pretty ? JSON.stringify(JSON.parse(body), null, 2) : body;
  return JSON.stringify(body, null, pretty ? 2 : undefined);
}
