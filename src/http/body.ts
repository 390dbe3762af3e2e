import type { Request } from 'express';
import { FhirError } from '../fhir/errors.js';
import { resourceFromXml } from '../xml/read.js';
import { adapterXmlModel } from './xml.js';

/**
 * Request bodies: read with a size limit (413 past it), accepted only in the media types we speak
 * (415 otherwise), parsed as JSON or FHIR XML (docs/xml.md) with a nesting limit (400 for malformed or
 * too deep). A PATCH body is a JSON Patch, never XML.
 */
const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/json']);
const XML_TYPES = new Set(['application/fhir+xml', 'application/xml', 'text/xml']);
const FORM = 'application/x-www-form-urlencoded';

export async function readBody(req: Request, maxBytes: number, maxDepth: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const text = await receive(req, maxBytes);
  if (text === undefined) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === FORM) return text;
  const xml = XML_TYPES.has(type) || type.endsWith('+xml');
  if (xml && req.method === 'PATCH') {
    throw new FhirError('unsupported-media', 'PATCH takes a JSON Patch: send application/json-patch+json');
  }
  if (type && !xml && !JSON_TYPES.has(type) && !type.endsWith('+json')) {
    throw new FhirError(
      'unsupported-media',
      `Content-Type '${type}' is not supported: send application/fhir+json or application/fhir+xml`,
    );
  }
  const parsed = xml ? resourceFromXml(adapterXmlModel(), text, maxDepth) : parseJson(text);
  if (depthOver(parsed, maxDepth))
    throw new FhirError('invalid', { message: `The body nests deeper than ${maxDepth} levels`, code: 'structure' });
  return parsed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FhirError('invalid', {
      message: `The body is not valid JSON: ${(err as Error).message}`,
      code: 'structure',
    });
  }
}

/** The body as text (undefined when empty); 413 past the limit, 400 when the client stops sending midway. */
async function receive(req: Request, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof FhirError) throw err;
    // the connection closed (or was cut at the request timeout) before the body was complete: the
    // client's doing, not a server error; the listener may have answered 408 already
    throw new FhirError('invalid', 'The request body was not received completely');
  }
  return size ? Buffer.concat(chunks).toString('utf8') : undefined;
}

function tooLarge(max: number): FhirError {
  return new FhirError('too-large', `The request body exceeds the limit of ${max} bytes`);
}

/** Iterative, so a hostile document cannot overflow the stack while it is being checked. */
function depthOver(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const v of Array.isArray(node) ? node : Object.values(node))
      if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
  }
  return false;
}
