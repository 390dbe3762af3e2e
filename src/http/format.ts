import type { Request, Response } from 'express';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';

/**
 * Response formats: JSON only (R4 §3.1.0.1.10 `_format`, Accept). An explicit request for XML or
 * Turtle is 406; `_pretty=true` indents.
 */
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'text/json']);
const OTHER_FHIR = /xml|turtle|ttl/;

export function checkAcceptable(req: Request): void {
  // an unencoded '+' (application/fhir+json) arrives as a space; clients rarely encode it
  const format = typeof req.query._format === 'string' ? req.query._format.toLowerCase().replace(/ /g, '+') : undefined;
  if (format !== undefined && !JSON_FORMATS.has(format.split(';')[0].trim())) {
    throw new FhirError('not-acceptable', {
      message: `_format '${format}' is not supported: this server speaks JSON`,
      expression: '_format',
    });
  }
  const accept = (req.headers.accept ?? '').toLowerCase();
  if (format === undefined && accept && OTHER_FHIR.test(accept) && !/json|\*\/\*/.test(accept)) {
    throw new FhirError('not-acceptable', `Accept '${accept}' is not supported: this server speaks JSON`);
  }
}

export function send(
  req: Request,
  res: Response,
  status: number,
  body: Resource | string | undefined,
  headers: Record<string, string> = {},
): void {
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined || status === 204 || status === 304) {
    res.end();
    return;
  }
  const pretty = req.query._pretty === 'true';
  let text: string;
  if (typeof body === 'string') text = pretty ? JSON.stringify(JSON.parse(body), null, 2) : body;
  else text = JSON.stringify(body, null, pretty ? 2 : undefined);
  res.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.end(text);
}
