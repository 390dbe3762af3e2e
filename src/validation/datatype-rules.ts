import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { norwegianIdentifierIssues } from './norwegian.js';
import { CONTROL } from '../fhir/text.js';

/**
 * Rules of a datatype that its StructureDefinition states in prose rather than as an invariant:
 * Attachment.size is the size of the data (R4 §2.24.0.13); the Norwegian identifier rules.
 */
export function datatypeIssues(type: string, value: unknown, path: string): OperationOutcomeIssue[] {
  if (typeof value === 'string' && CONTROL.test(value)) {
    // XML cannot carry them and FHIR strings are meant as text; PostgreSQL cannot store U+0000 at all
    return [
      {
        severity: 'error',
        code: 'value',
        diagnostics: `${path} holds a control character (U+${value.match(CONTROL)![0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`,
        expression: [path],
      },
    ];
  }
  if (typeof value === 'string' && (type === 'date' || type === 'dateTime' || type === 'instant'))
    return calendarIssues(value, path);
  if (!value || typeof value !== 'object') return [];
  if (type === 'Identifier') return norwegianIdentifierIssues(value as never, path);
  if (type === 'Attachment') return attachmentIssues(value as { data?: unknown; size?: unknown }, path);
  return [];
}

/**
 * A date the schema's pattern lets through but the calendar does not have (1980-02-30, 2025-02-29):
 * FHIR dates are XML Schema dates, which must exist.
 */
function calendarIssues(value: string, path: string): OperationOutcomeIssue[] {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return [];
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo >= 1 && mo <= 12 && d <= days) return [];
  return [
    {
      severity: 'error',
      code: 'value',
      diagnostics: `'${value}' is not a date: ${m[1]}-${m[2]} has ${days} days`,
      expression: [path],
    },
  ];
}

function attachmentIssues(a: { data?: unknown; size?: unknown }, path: string): OperationOutcomeIssue[] {
  if (typeof a.data !== 'string' || typeof a.size !== 'number') return [];
  const bytes = Buffer.from(a.data, 'base64').length;
  if (bytes === a.size) return [];
  return [
    {
      severity: 'error',
      code: 'value',
      diagnostics: `The size ${a.size} does not match the data, which is ${bytes} bytes`,
      expression: [`${path}.size`],
    },
  ];
}

const ONCE = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);

/**
 * Bundle rules the R4 text states: an entry's fullUrl is "the Absolute URL for the resource"; a
 * paging link (self, first, previous, next, last) is one link; the resources of search results have
 * ids (they were found on a server), except an OperationOutcome about the search.
 */
export function bundleIssues(
  bundle: {
    type?: unknown;
    entry?: { fullUrl?: unknown; resource?: { id?: unknown; resourceType?: unknown }; search?: { mode?: unknown } }[];
    link?: { relation?: unknown }[];
  },
  path: string,
): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  const error = (diagnostics: string, expression: string) =>
    out.push({ severity: 'error', code: 'value', diagnostics, expression: [expression] });
  // rules about an entry as a whole: each its own fault, even several at one entry
  const rule = (diagnostics: string, expression: string) =>
    out.push({ severity: 'error', code: 'business-rule', diagnostics, expression: [expression] });
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  const searched = searchedTypes(bundle.link);
  entries.forEach((e, i) => {
    if (typeof e?.fullUrl === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(e.fullUrl))
      error(`fullUrl '${e.fullUrl}' must be an absolute URL (or urn:uuid:/urn:oid:)`, `${path}.entry[${i}].fullUrl`);
    // an OperationOutcome about the search (search.mode = outcome) is made for the answer and has no id
    const mode = e?.search?.mode;
    const outcome = mode === 'outcome' || (e?.resource?.resourceType === 'OperationOutcome' && mode === undefined);
    if (bundle.type === 'searchset' && e?.resource && typeof e.resource === 'object')
      searchModeIssues(e.resource.resourceType, mode, searched, `${path}.entry[${i}].resource`, rule);
    if (
      bundle.type === 'searchset' &&
      e?.resource &&
      typeof e.resource === 'object' &&
      e.resource.id === undefined &&
      !outcome
    ) {
      rule('A resource in search results has an id', `${path}.entry[${i}].resource`);
    }
  });
  const seen = new Set<string>();
  (Array.isArray(bundle.link) ? bundle.link : []).forEach((l, i) => {
    const rel = typeof l?.relation === 'string' ? l.relation : '';
    if (ONCE.has(rel) && seen.has(rel)) error(`The link relation '${rel}' can occur only once`, `${path}.link[${i}]`);
    seen.add(rel);
  });
  return out;
}

/**
 * The resource types a search set's `self` link searched (R4 §3.1.1 http.html#search): `[base]/Type?…`,
 * or a system search's `_type`; undefined when the link does not say (any type may match).
 */
function searchedTypes(links: unknown): string[] | undefined {
  const self = (Array.isArray(links) ? links : []).find((l: { relation?: unknown }) => l?.relation === 'self') as
    { url?: unknown } | undefined;
  if (typeof self?.url !== 'string') return undefined;
  const [before, query = ''] = self.url.split('?', 2);
  const last = before.slice(before.lastIndexOf('/') + 1);
  if (/^[A-Z][A-Za-z]+$/.test(last)) return [last];
  const types = new URLSearchParams(query).get('_type');
  return types ? types.split(',').map((t) => t.trim()) : undefined;
}

/**
 * R4 Bundle.entry.search.mode: an `outcome` entry is an OperationOutcome; a `match` is of a type
 * searched for (an `include` may be any type).
 */
function searchModeIssues(
  type: unknown,
  mode: unknown,
  searched: string[] | undefined,
  at: string,
  error: (diagnostics: string, expression: string) => unknown,
): void {
  if (mode === 'outcome' && type !== 'OperationOutcome')
    error(`An entry with search.mode 'outcome' is an OperationOutcome, not a ${String(type)}`, at);
  if (mode === 'match' && searched && !searched.includes(type as string))
    error(`A ${String(type)} does not match the search, which is for ${searched.join(', ')}`, at);
}
