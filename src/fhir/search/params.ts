import type { SearchParameter } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { Definitions } from '../definitions.js';

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
}

export interface SearchLimits {
  defaultCount: number;
  maxCount: number;
}

/** Parameters every search understands (R4 §3.1.1.5), whatever the type. */
const RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_total', '_summary', '_elements', '_format', '_pretty']);
const BUILTIN: Record<string, string> = { _id: 'token', _lastUpdated: 'date' };
const MODIFIERS: Record<string, readonly string[]> = {
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
  const req: SearchRequest = { resourceType, criteria: [], count: limits.defaultCount, offset: 0, sort: [], total: 'accurate', unknown: [] };
  const params = defs.searchParams.get(resourceType) ?? new Map<string, SearchParameter>();
  for (const [rawName, value] of query) {
    if (RESULT_PARAMS.has(rawName)) {
      applyResultParam(req, rawName, value, params, limits);
      continue;
    }
    const [code, modifier] = splitModifier(rawName);
    const definition = params.get(code);
    const type = BUILTIN[code] ?? definition?.type;
    if (!type || (definition && !definition.expression && !BUILTIN[code])) {
      req.unknown.push(rawName);
      continue;
    }
    if (modifier && !(MODIFIERS[type] ?? []).includes(modifier) && !(type === 'reference' && /^[A-Z]/.test(modifier))) {
      throw new FhirError('invalid', { message: `Unknown modifier ':${modifier}' for ${type} parameter '${code}'`, expression: rawName });
    }
    if (modifier && ['in', 'not-in', 'above', 'below', 'of-type', 'identifier'].includes(modifier) && type !== 'uri') {
      throw new FhirError('invalid', { message: `Modifier ':${modifier}' is not supported yet on '${code}'`, expression: rawName });
    }
    const values = splitValues(value);
    if (modifier === 'missing' && !['true', 'false'].includes(value)) {
      throw new FhirError('invalid', { message: `':missing' takes true or false, not '${value}'`, expression: rawName });
    }
    req.criteria.push({ code, type, modifier, values, definition });
  }
  if (strict && req.unknown.length) {
    throw new FhirError('invalid', req.unknown.map((u) => ({ message: `Unknown search parameter '${u}' for ${resourceType}`, expression: u })));
  }
  return req;
}

function applyResultParam(req: SearchRequest, name: string, value: string, params: ReadonlyMap<string, SearchParameter>, limits: SearchLimits): void {
  switch (name) {
    case '_count': {
      const n = Number(value);
      if (!/^\d+$/.test(value)) throw new FhirError('invalid', { message: `_count must be a non-negative integer, not '${value}'`, expression: '_count' });
      req.count = Math.min(n, limits.maxCount);
      return;
    }
    case '_offset': {
      if (!/^\d+$/.test(value)) throw new FhirError('invalid', { message: `_offset must be a non-negative integer, not '${value}'`, expression: '_offset' });
      req.offset = Number(value);
      return;
    }
    case '_sort':
      req.sort = value.split(',').filter(Boolean).map((key) => {
        const descending = key.startsWith('-');
        const code = descending ? key.slice(1) : key;
        const type = BUILTIN[code] ?? params.get(code)?.type;
        if (!type || type === 'composite' || type === 'special') {
          throw new FhirError('invalid', { message: `Cannot sort by '${code}'`, expression: '_sort' });
        }
        return { code, type, descending };
      });
      return;
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') {
        throw new FhirError('invalid', { message: `_total must be none, estimate or accurate`, expression: '_total' });
      }
      req.total = value;
      return;
    case '_summary':
      if (!['true', 'count', 'data', 'text', 'false'].includes(value)) {
        throw new FhirError('invalid', { message: `_summary must be true, count, data, text or false`, expression: '_summary' });
      }
      req.summary = value as SearchRequest['summary'];
      return;
    case '_elements':
      req.elements = value.split(',').map((s) => s.trim()).filter(Boolean);
      return;
    default:
      return; // _format, _pretty: handled by the HTTP layer
  }
}

function splitModifier(name: string): [string, string | undefined] {
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
