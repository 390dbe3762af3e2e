import type { SearchParameter } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import { CONTROL } from '../text.js';
import type { Definitions } from '../definitions.js';
import { parseCriterion } from './criterion.js';
import { parseInclude } from './include.js';
import { MAX_SORT_KEYS, tooCostly } from './limits.js';

/**
 * A search request parsed and checked against the type's SearchParameters (R4 §3.1.1).
 * Malformed values are a 400 naming the parameter; unknown parameters are collected for the
 * `search.mode = outcome` entry (or refused under `Prefer: handling=strict`).
 */
export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
export const PREFIXES: readonly Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

export interface Criterion {
  /** The parameter code, e.g. `identifier`, `_id`. */
  code: string;
  /** The SearchParameter type (`_id` is a token, `_lastUpdated` a date). */
  type: string;
  modifier?: string;
  /** OR-ed values (comma-separated in the query). */
  values: string[];
  definition?: SearchParameter;
  /** The parameter name and value as the query had them (self links). */
  raw?: string;
  rawValue?: string;
  /** Chaining (`subject:Patient.name=x`): the criterion on each possible target type. */
  chain?: { targetType: string; next: Criterion }[];
  /** Reverse chaining (`_has:Observation:patient:code=x`). */
  has?: { sourceType: string; refParam: string; next: Criterion };
  /** For a composite parameter: the types of its components, in order. */
  components?: string[];
  /** Compartment membership (`Patient/123/Observation`): any of these reference parameters. */
  compartment?: { params: string[]; targetType: string; id: string };
  /** Added by the server (an access limit), not asked for: never shown in the Bundle's links. */
  implicit?: boolean;
}

/** `_include` / `_revinclude` (R4 §3.1.1.5.4): `sourceType:param[:targetType]`, or `*`. */
export interface Include {
  reverse: boolean;
  iterate: boolean;
  sourceType: string;
  /** Reference parameter codes (all of the source type's for `*`). */
  params: string[];
  targetType?: string;
  raw: string;
  /** The parameter's name as the query had it (`_include:iterate`), for errors. */
  name?: string;
}

export interface SortKey {
  code: string;
  type: string;
  descending: boolean;
}

export interface SearchRequest {
  resourceType: string;
  criteria: Criterion[];
  count: number;
  offset: number;
  sort: SortKey[];
  total: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'count' | 'data' | 'text' | 'false';
  elements?: string[];
  /** Parameters we did not recognise, ignored (reported back). */
  unknown: string[];
  includes: Include[];
  /** Paging bound: only resources whose rid is at most this, so pages stay put while data is added. */
  snapshot?: number;
}

export interface SearchLimits {
  defaultCount: number;
  maxCount: number;
}

/** Parameters every search understands (R4 §3.1.1.5), whatever the type. */
const RESULT_PARAMS = new Set([
  '_count',
  '_offset',
  '_sort',
  '_total',
  '_summary',
  '_elements',
  '_format',
  '_pretty',
  '_snapshot',
]);
export const BUILTIN: Record<string, string> = { _id: 'token', _lastUpdated: 'date' };
export const MODIFIERS: Record<string, readonly string[]> = {
  string: ['exact', 'contains', 'missing'],
  token: ['not', 'text', 'missing', 'of-type', 'in', 'not-in', 'above', 'below'],
  reference: ['missing', 'identifier'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  uri: ['below', 'above', 'missing'],
  composite: ['missing'],
};

export function parseSearch(
  defs: Definitions,
  resourceType: string,
  query: ReadonlyArray<[string, string]>,
  limits: SearchLimits,
  strict = false,
): SearchRequest {
  const req: SearchRequest = {
    resourceType,
    criteria: [],
    count: limits.defaultCount,
    offset: 0,
    sort: [],
    total: 'accurate',
    unknown: [],
    includes: [],
  };
  const params = defs.searchParams.get(resourceType) ?? new Map<string, SearchParameter>();
  for (const [rawName, value] of query) {
    // no FHIR value holds a control character, and PostgreSQL text cannot hold U+0000 at all
    if (CONTROL.test(rawName) || CONTROL.test(value))
      throw new FhirError('invalid', {
        message: `The search parameter '${rawName.replace(CONTROL, '?')}' holds a control character`,
        expression: rawName.replace(CONTROL, '?'),
      });
    if (RESULT_PARAMS.has(rawName)) {
      applyResultParam(req, rawName, value, params, limits);
      continue;
    }
    if (/^_(rev)?include(:iterate)?$/.test(rawName)) {
      req.includes.push(parseInclude(defs, rawName, value));
      continue;
    }
    const criterion = parseCriterion(defs, resourceType, rawName, value);
    if (criterion) req.criteria.push({ ...criterion, raw: rawName, rawValue: value });
    else req.unknown.push(rawName);
  }
  if (strict && req.unknown.length) {
    throw new FhirError(
      'invalid',
      req.unknown.map((u) => ({ message: `Unknown search parameter '${u}' for ${resourceType}`, expression: u })),
    );
  }
  return req;
}

/** Sets on `req` what one result parameter (R4 §3.1.1.5) asks for; a malformed value is a 400. */
function applyResultParam(
  req: SearchRequest,
  name: string,
  value: string,
  params: ReadonlyMap<string, SearchParameter>,
  limits: SearchLimits,
): void {
  switch (name) {
    case '_count':
      req.count = parseCount(value, limits);
      return;
    case '_offset':
      req.offset = parseOffset(value);
      return;
    case '_sort':
      req.sort = parseSort(value, params);
      return;
    case '_total':
      req.total = parseTotal(value);
      return;
    case '_summary':
      req.summary = parseSummary(value);
      return;
    case '_snapshot':
      req.snapshot = parseSnapshot(value);
      return;
    case '_elements':
      req.elements = parseElements(value);
      return;
    default:
      return; // _format, _pretty: handled by the HTTP layer
  }
}

/** `_count`: a page size, capped at the server's maximum (a larger one is not an error). */
function parseCount(value: string, limits: SearchLimits): number {
  const n = Number(value);
  if (!/^\d+$/.test(value))
    throw new FhirError('invalid', {
      message: `_count must be a non-negative integer, not '${value}'`,
      expression: '_count',
    });
  return Math.min(n, limits.maxCount);
}

function parseOffset(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new FhirError('invalid', {
      message: `_offset must be a non-negative integer, not '${value}'`,
      expression: '_offset',
    });
  return Number(value);
}

/** `_sort`: comma-separated parameter codes, each descending when prefixed with `-`. */
function parseSort(value: string, params: ReadonlyMap<string, SearchParameter>): SortKey[] {
  const keys = value.split(',').filter(Boolean);
  if (keys.length > MAX_SORT_KEYS) {
    throw tooCostly(`_sort may have at most ${MAX_SORT_KEYS} keys`, '_sort');
  }
  return keys.map((key) => parseSortKey(key, params));
}

function parseSortKey(key: string, params: ReadonlyMap<string, SearchParameter>): SortKey {
  const descending = key.startsWith('-');
  const code = descending ? key.slice(1) : key;
  const type = BUILTIN[code] ?? params.get(code)?.type;
  if (!type || type === 'composite' || type === 'special') {
    throw new FhirError('invalid', { message: `Cannot sort by '${code}'`, expression: '_sort' });
  }
  return { code, type, descending };
}

function parseTotal(value: string): SearchRequest['total'] {
  if (value !== 'none' && value !== 'estimate' && value !== 'accurate') {
    throw new FhirError('invalid', { message: `_total must be none, estimate or accurate`, expression: '_total' });
  }
  return value;
}

function parseSummary(value: string): SearchRequest['summary'] {
  if (!['true', 'count', 'data', 'text', 'false'].includes(value)) {
    throw new FhirError('invalid', {
      message: `_summary must be true, count, data, text or false`,
      expression: '_summary',
    });
  }
  return value as SearchRequest['summary'];
}

/** `_snapshot`: the paging bound this server put in its own next/previous links. */
function parseSnapshot(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new FhirError('invalid', { message: 'Invalid paging snapshot', expression: '_snapshot' });
  return Number(value);
}

function parseElements(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function splitModifier(name: string): [string, string | undefined] {
  const i = name.indexOf(':');
  return i < 0 ? [name, undefined] : [name.slice(0, i), name.slice(i + 1)];
}

/** Commas separate OR-ed values; `\,` is a literal comma (R4 §3.1.1.4.13 escaping). */
export function splitValues(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length && ',$|\\'.includes(value[i + 1])) {
      cur += c + value[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Splits on an unescaped `|`, then removes the escapes. */
export function splitPipe(value: string): [string | undefined, string] {
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === '|') return [unescape(value.slice(0, i)), unescape(value.slice(i + 1))];
  }
  return [undefined, unescape(value)];
}

export function unescape(s: string): string {
  return s.replace(/\\([,$|\\])/g, '$1');
}

export function splitPrefix(value: string): [Prefix, string] {
  const p = value.slice(0, 2) as Prefix;
  return PREFIXES.includes(p) && /^[a-z]{2}[-+\d]/.test(value) ? [p, value.slice(2)] : ['eq', value];
}
