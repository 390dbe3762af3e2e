import type { Reference } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import { parsePrefer, type FhirRequest } from '../fhir/request.js';
import { dateRange } from '../fhir/search/dates.js';
import type { Services } from '../fhir/services.js';

/** The parameters of one `$export` kick-off, checked (Bulk Data Access IG, kick-off request). */
export interface ExportInput {
  /** `_since`, `_until`: meta.lastUpdated bounds (epoch ms). */
  since?: number;
  until?: number;
  /** `_type`: the types asked for (all the caller may read when absent). */
  types?: string[];
  /** `_elements`: `Type.element` or `element` (every type). */
  elements?: string[];
  /** `_typeFilter`: per type, the searches a resource must match one of. */
  filters: Map<string, [string, string][][]>;
  /** `patient` (Patient and Group level): the patients to export, as ids. */
  patients?: string[];
  /** `includeAssociatedData` values. */
  associated: string[];
  /** Unknown parameters ignored under `Prefer: handling=lenient` (said in the manifest's error file). */
  ignored: string[];
}

/** The NDJSON media types a client may name in `_outputFormat` (the IG's and its two abbreviations). */
const NDJSON = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

const KNOWN = new Set([
  '_outputFormat',
  '_since',
  '_until',
  '_type',
  '_elements',
  '_typeFilter',
  'includeAssociatedData',
  'patient',
]);

const invalid = (expression: string, message: string) => new FhirError('invalid', { message, expression });

/** Every value of a parameter, each split at commas (the IG allows both repeats and lists). */
function listOf(input: Map<string, unknown[]>, name: string): string[] | undefined {
  const values = input.get(name);
  if (!values) return undefined;
  if (values.some((v) => typeof v !== 'string')) throw invalid(name, `${name} takes string values`);
  return (values as string[]).flatMap((v) => v.split(',')).map((s) => s.trim());
}

function instant(input: Map<string, unknown[]>, name: string, end: 'low' | 'high'): number | undefined {
  const values = input.get(name);
  if (!values) return undefined;
  const range = values.length === 1 && typeof values[0] === 'string' ? dateRange(values[0]) : undefined;
  if (!range) throw invalid(name, `${name} is one FHIR instant: '${String(values[0])}'`);
  return range[end];
}

function typesOf(svc: Services, input: Map<string, unknown[]>): string[] | undefined {
  const names = listOf(input, '_type');
  const unknown = names?.filter((n) => !svc.defs.resourceTypes.has(n));
  if (unknown?.length) throw invalid('_type', `_type names no resource type: '${unknown.join(',')}'`);
  return names && [...new Set(names)];
}

function elementsOf(svc: Services, input: Map<string, unknown[]>): string[] | undefined {
  const names = listOf(input, '_elements');
  for (const name of names ?? []) {
    const m = /^(?:([A-Z][A-Za-z]+)\.)?([a-z][A-Za-z0-9]*)$/.exec(name);
    if (!m || (m[1] && !svc.defs.resourceTypes.has(m[1])))
      throw invalid('_elements', `_elements takes [Type.]element names: '${name}'`);
  }
  return names;
}

/** `_typeFilter=Type?query` (the query URL-encoded within the value). */
function filtersOf(svc: Services, input: Map<string, unknown[]>): Map<string, [string, string][][]> {
  const out = new Map<string, [string, string][][]>();
  for (const value of input.get('_typeFilter') ?? []) {
    const text = typeof value === 'string' ? value : '';
    const at = text.indexOf('?');
    const type = text.slice(0, at);
    if (at < 1 || !svc.defs.resourceTypes.has(type))
      throw invalid('_typeFilter', `_typeFilter is Type?search, of a resource type: '${text}'`);
    const query = [...new URLSearchParams(text.slice(at + 1))];
    if (!query.length) throw invalid('_typeFilter', `_typeFilter '${text}' has no criteria`);
    out.set(type, [...(out.get(type) ?? []), query]);
  }
  return out;
}

/** `patient` (POST, Parameters): references to Patients, as ids. */
function patientsOf(input: Map<string, unknown[]>): string[] | undefined {
  const values = input.get('patient');
  if (!values) return undefined;
  return values.map((v) => {
    const ref = typeof v === 'string' ? v : (v as Reference | undefined)?.reference;
    const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref ?? '');
    if (!m) throw invalid('patient', `patient takes references to Patients: '${String(ref)}'`);
    return m[1];
  });
}

function format(input: Map<string, unknown[]>): void {
  const values = input.get('_outputFormat');
  if (values && (values.length !== 1 || !NDJSON.has(String(values[0]))))
    throw invalid('_outputFormat', `_outputFormat must be application/fhir+ndjson: '${String(values[0])}'`);
}

/**
 * Reads a kick-off request. `Prefer: respond-async` is required (the export is never synchronous);
 * bad values are 400 naming the parameter; an unknown parameter is 400 unless `Prefer:
 * handling=lenient`, which ignores it (said in the manifest's error file).
 */
export function readExportInput(svc: Services, req: FhirRequest, level: 'system' | 'patients'): ExportInput {
  const prefer = parsePrefer(req.headers.prefer);
  if (!prefer.respondAsync)
    throw invalid('Prefer', '$export runs asynchronously: send the header Prefer: respond-async');
  const input = operationInput(req);
  const unknown = [...input.keys()].filter((k) => !KNOWN.has(k) || (k === 'patient' && level === 'system'));
  if (unknown.length && prefer.handling !== 'lenient')
    throw invalid(unknown[0], `Unknown parameter '${unknown[0]}' for $export (Prefer: handling=lenient ignores it)`);
  for (const name of unknown) input.delete(name);
  format(input);
  const [since, until] = [instant(input, '_since', 'low'), instant(input, '_until', 'high')];
  if (since !== undefined && until !== undefined && since > until) throw invalid('_since', '_since is after _until');
  if (since !== undefined && since > svc.clock.now().getTime())
    throw invalid('_since', '_since is in the future: nothing could have changed since then');
  return {
    since,
    until,
    types: typesOf(svc, input),
    elements: elementsOf(svc, input),
    filters: filtersOf(svc, input),
    patients: patientsOf(input),
    associated: listOf(input, 'includeAssociatedData') ?? [],
    ignored: unknown,
  };
}
