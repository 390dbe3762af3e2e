import { FhirError } from '../../errors.js';
import { parsePrefer, type FhirRequest } from '../../request.js';
import { dateRange, MAX_TIME, MIN_TIME } from '../../search/dates.js';
import type { Services } from '../../services.js';
import { operationInput } from '../parameters.js';

/** The parameters of one `Patient/$everything` request, checked (R4 Patient-everything). */
export interface EverythingInput {
  /** Care dates: the clinical date of a resource must overlap [low, high] (resources without one are kept). */
  care?: { low: number; high: number };
  /** `_since`: meta.lastUpdated at or after this (epoch ms). */
  since?: number;
  /** `_type`: the resource types asked for (all when absent). */
  types?: Set<string>;
  count: number;
  offset: number;
  /** The paging bound of the first page, carried in the next/previous links. */
  snapshot?: number;
  /** Unknown parameters ignored under `Prefer: handling=lenient`. */
  ignored: string[];
  /** The parameters to repeat in the paging links (as given, paging ones excepted). */
  echo: [string, string][];
}

const KNOWN = new Set(['start', 'end', '_since', '_type', '_count', '_offset', '_snapshot']);

/** One value of a parameter given at most once, as a string. */
function single(input: Map<string, unknown[]>, name: string): string | undefined {
  const values = input.get(name);
  if (!values) return undefined;
  if (values.length !== 1 || typeof values[0] !== 'string')
    throw new FhirError('invalid', { message: `${name} is given at most once, as a single value`, expression: name });
  return values[0];
}

function date(input: Map<string, unknown[]>, name: string): { low: number; high: number } | undefined {
  const raw = single(input, name);
  if (raw === undefined) return undefined;
  const range = dateRange(raw);
  if (!range)
    throw new FhirError('invalid', { message: `${name} is not a FHIR date or dateTime: '${raw}'`, expression: name });
  return range;
}

function whole(input: Map<string, unknown[]>, name: string, fallback: number, max: number): number {
  const raw = single(input, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new FhirError('invalid', { message: `${name} is a whole number: '${raw}'`, expression: name });
  return Math.min(Number(raw), max);
}

function types(svc: Services, input: Map<string, unknown[]>): Set<string> | undefined {
  const values = input.get('_type');
  if (!values) return undefined;
  // R4: "one or more parameters, each containing one or more comma-delimited FHIR resource types"
  const names = values.flatMap((v) => (typeof v === 'string' ? v.split(',') : [''])).map((s) => s.trim());
  const unknown = names.filter((n) => !svc.defs.resourceTypes.has(n));
  if (unknown.length)
    throw new FhirError('invalid', {
      message: `_type names no resource type: '${unknown.join(',')}'`,
      expression: '_type',
    });
  return new Set(names);
}

/**
 * Reads start, end, _since, _type and _count (and this server's paging `_offset`, `_snapshot`). Bad
 * values are 400 naming the parameter; an unknown parameter is 400 unless the client asked for
 * `Prefer: handling=lenient` (R4 §3.1.1.5: a server may ignore them when the client lets it).
 */
export function readInput(svc: Services, req: FhirRequest): EverythingInput {
  const input = operationInput(req);
  const unknown = [...input.keys()].filter((k) => !KNOWN.has(k));
  const lenient = parsePrefer(req.headers.prefer).handling === 'lenient';
  if (unknown.length && !lenient)
    throw new FhirError('invalid', {
      message: `Unknown parameter '${unknown[0]}' for $everything (Prefer: handling=lenient ignores it)`,
      expression: unknown[0],
    });
  const [start, end, since] = [date(input, 'start'), date(input, 'end'), date(input, '_since')];
  if (start && end && start.low > end.high)
    throw new FhirError('invalid', { message: 'start is after end', expression: 'start' });
  const snapshotRaw = single(input, '_snapshot');
  const snapshot = snapshotRaw === undefined ? undefined : whole(input, '_snapshot', 0, Number.MAX_SAFE_INTEGER);
  const echo: [string, string][] = [];
  for (const name of ['start', 'end', '_since', '_type']) {
    for (const v of input.get(name) ?? []) echo.push([name, v as string]);
  }
  return {
    care: start || end ? { low: start?.low ?? MIN_TIME, high: end?.high ?? MAX_TIME } : undefined,
    since: since?.low,
    types: types(svc, input),
    count: whole(input, '_count', svc.limits.defaultCount, svc.limits.maxCount),
    offset: whole(input, '_offset', 0, Number.MAX_SAFE_INTEGER),
    snapshot,
    ignored: unknown,
    echo,
  };
}
