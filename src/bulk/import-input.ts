import type { ParametersParameter } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import { parsePrefer, type FhirRequest } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';

/** One NDJSON file to import: its resource type and where to fetch it. */
export interface ImportInput {
  type: string;
  url: string;
}

const KNOWN = new Set(['inputFormat', 'inputSource', 'input']);
const invalid = (expression: string, message: string) => new FhirError('invalid', { message, expression });

/** An `input` part (`type`, `url`), checked: a known type, a URL under one of BULK_IMPORT_SOURCES. */
function inputOf(svc: Services, value: unknown): ImportInput {
  const parts = Array.isArray(value) ? (value as ParametersParameter[]) : [];
  const part = (name: string) => {
    const p = parts.find((x) => x.name === name);
    return p?.valueCode ?? p?.valueUri ?? p?.valueUrl ?? p?.valueString;
  };
  const [type, given] = [part('type'), part('url')];
  if (!type || !svc.defs.resourceTypes.has(type)) throw invalid('input.type', `input.type names no resource type`);
  // compared in its normal form: `file:///imports/../etc/passwd` is `file:///etc/passwd`
  const url = given && URL.canParse(given) ? new URL(given).href : undefined;
  if (!url || !svc.bulk.importSources.some((prefix) => url.startsWith(prefix)))
    throw invalid('input.url', `input.url must start with one of BULK_IMPORT_SOURCES: '${given ?? ''}'`);
  return { type, url };
}

/**
 * Reads an `$import` kick-off (Bulk Data IG's ping-and-pull import, a POST with a Parameters body):
 * `inputFormat` application/fhir+ndjson, `inputSource`, and one `input` (type, url) per file. The
 * server fetches only URLs under the configured prefixes (BULK_IMPORT_SOURCES: none by default), so
 * an import cannot make it reach an address an operator did not name.
 */
export function readImportInput(svc: Services, req: FhirRequest): ImportInput[] {
  if (!parsePrefer(req.headers.prefer).respondAsync)
    throw invalid('Prefer', '$import runs asynchronously: send the header Prefer: respond-async');
  if (req.body === undefined) throw invalid('resourceType', '$import takes a Parameters body');
  const input = operationInput(req);
  const unknown = [...input.keys()].find((k) => !KNOWN.has(k));
  if (unknown) throw invalid(unknown, `Unknown parameter '${unknown}' for $import`);
  const format = input.get('inputFormat');
  if (!format || format.length !== 1 || format[0] !== 'application/fhir+ndjson')
    throw invalid('inputFormat', 'inputFormat must be application/fhir+ndjson');
  const inputs = (input.get('input') ?? []).map((v) => inputOf(svc, v));
  if (!inputs.length) throw invalid('input', '$import needs at least one input (type and url)');
  return inputs;
}
