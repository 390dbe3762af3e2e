import fc from 'fast-check';

/** One malformed (or at least never data-changing) request for the robustness fuzz. */
export interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const TYPES = [
  'Patient',
  'Observation',
  'CarePlan',
  'Task',
  'Bundle',
  'ValueSet',
  'CodeSystem',
  'PlanDefinition',
  'AuditEvent',
  'Nope',
  'patient',
  '',
];
const PARAMS = [
  'name',
  'identifier',
  '_id',
  'subject',
  'subject:Patient.name',
  'date',
  'birthdate',
  'code',
  'value-quantity',
  'code-value-quantity',
  '_sort',
  '_count',
  '_offset',
  '_include',
  '_revinclude',
  '_has:Observation:subject:code',
  '_summary',
  '_elements',
  '_total',
  '_lastUpdated',
  'url',
  'due',
  'business-status',
  'name:exact',
  'name:contains',
  'code:in',
  'code:below',
  'status:not',
  '_format',
  '_snapshot',
];
const OPS = [
  '$validate',
  '$expand',
  '$lookup',
  '$validate-code',
  '$subsumes',
  '$translate',
  '$apply',
  '$deadlines',
  '$evaluate-deadlines',
  '$reindex',
  '$everything',
  '$',
];

/**
 * Text that breaks things: quotes, SQL, control characters, astral and lone-surrogate escapes, invalid UTF-8 as
 * percent bytes.
 */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    "'",
    '"',
    "' OR 1=1 --",
    '%00',
    '%FF%FE',
    '%C3%28',
    '%ED%A0%80',
    '\\',
    '|',
    '$',
    ',',
    'ge',
    'eq2026-13-45',
    'le',
    'sa1e309',
    '9'.repeat(400),
    'Patient/',
    '../../etc/passwd',
    'ø æ å',
    '😀',
    '\u0000',
  ),
  fc.integer().map(String),
  fc.double().map(String),
);
const pct = (s: string) => (/%[0-9A-F]{2}/.test(s) ? s : encodeURIComponent(s));

const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 10 })), nasty), { maxLength: 6 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&')}` : ''));

/** Paths: types, random ids (never a fixture's), history, compartments, operations, garbage segments. */
const path = fc.oneof(
  fc.constantFrom(...TYPES),
  fc.tuple(fc.constantFrom(...TYPES), nasty).map(([t, id]) => `${t}/fz-${pct(id)}`),
  fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...OPS)).map(([t, op]) => `${t}/${op}`),
  fc.constantFrom(...OPS),
  fc.tuple(fc.constantFrom(...TYPES), nasty).map(([t, v]) => `${t}/fz-1/_history/${pct(v)}`),
  fc.constantFrom(
    '_history',
    'Patient/_history',
    'Patient/fz-1/Observation',
    'Patient/_search',
    'metadata',
    '',
    'Patient/fz/$everything',
  ),
  fc.array(nasty, { minLength: 1, maxLength: 4 }).map((segs) => segs.map(pct).join('/')),
);

let deepCache: string | undefined;
const deep = () => (deepCache ??= `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`);
let hugeCache: string | undefined;
const huge = () =>
  (hugeCache ??= JSON.stringify({ resourceType: 'Patient', name: [{ family: 'x'.repeat(3_000_000) }], birthDate: 12 }));

/**
 * Bodies that must not be stored: random JSON, resources with wrong types, a resource of another
 * type than the URL, deep nesting, a huge invalid resource, bytes that are not UTF-8, text that is
 * not JSON, Bundles with broken entries, JSON Patches that are not patches. (Every write has an
 * error by construction, so the stored data must be the same afterwards.)
 */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      resourceType: fc.constantFrom('Patient', 'Observation', 'Task'),
      id: nasty,
      birthDate: nasty,
      status: fc.integer(),
      gender: fc.jsonValue({ maxDepth: 2 }),
    })
    .map((r) => JSON.stringify(r)),
  fc
    .record({
      resourceType: fc.constantFrom('Bundle'),
      type: fc.constantFrom('transaction', 'batch', 'collection', 'nonsense'),
      entry: fc.array(
        fc.record({
          request: fc.record({ method: fc.constantFrom('POST', 'PUT', 'GET', 'X'), url: nasty }),
          resource: fc.jsonValue({ maxDepth: 2 }),
        }),
        { maxLength: 4 },
      ),
    })
    .map((b) =>
      JSON.stringify({
        ...b,
        entry: [
          ...b.entry,
          {
            request: { method: 'POST', url: 'Patient' },
            resource: { resourceType: 'Patient', birthDate: 'not-a-date' },
          },
        ],
      }),
    ),
  fc.constantFrom(
    '{',
    '[',
    'null',
    'true',
    '"Patient"',
    '<Patient xmlns="http://hl7.org/fhir"/>',
    '{"resourceType":"Patient","birthDate":"1980-02-30"}',
    '{"resourceType":"Patient","__proto__":{"x":1},"active":"yes"}',
    '[{"op":"replace","path":"/birthDate","value":5}]',
    '[{"op":"nope"}]',
    '{"op":"add"}',
  ),
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map((bytes) =>
      Buffer.concat([
        Buffer.from('{"resourceType":"Patient","text":"'),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]),
    ),
  fc.constant(null).map(() => deep()),
  fc.constant(null).map(() => huge()),
);

const contentType = fc.oneof(
  { arbitrary: fc.constant('application/fhir+json'), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      'application/fhir+json',
      'application/json',
      'application/json-patch+json',
      'application/x-www-form-urlencoded',
      'application/fhir+xml',
      'text/plain',
      'application/fhir+json; charset=latin1',
      '',
    ),
    weight: 1,
  },
);
const header = fc.constantFrom(
  '',
  'W/"1"',
  '*',
  'return=representation',
  'return=minimal',
  'handling=strict',
  'identifier=x',
  '"bad',
  'W/"9999"',
);

export function fuzzRequests(seed: number, count: number, token: string): FuzzRequest[] {
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
    path,
    query,
    body,
    contentType,
    ifMatch: header,
    prefer: header,
    ifNoneExist: header,
    // mostly a good token, so most requests reach the handlers; some none, forged or of the wrong kind
    auth: fc.constantFrom('good', 'good', 'good', 'good', 'good', 'good', 'good', 'none', 'garbage', 'basic'),
  });
  return fc.sample(request, { seed, numRuns: count }).map((r) => {
    const headers: Record<string, string> = {};
    if (r.contentType) headers['Content-Type'] = r.contentType;
    if (r.ifMatch) headers['If-Match'] = r.ifMatch;
    if (r.prefer) headers.Prefer = r.prefer;
    if (r.ifNoneExist) headers['If-None-Exist'] = r.ifNoneExist;
    if (r.auth === 'good') headers.Authorization = `Bearer ${token}`;
    if (r.auth === 'garbage') headers.Authorization = 'Bearer eyJhbGciOiJub25lIn0.e30.';
    if (r.auth === 'basic') headers.Authorization = 'Basic Zm9vOmJhcg==';
    // conditional writes (DELETE, PUT, PATCH, POST with criteria) are kept from matching any stored
    // resource: an `_id` no resource has is AND-ed to their criteria
    const q =
      r.method === 'GET' ? r.query : r.query ? `${r.query}&_id=fz-none` : r.method === 'DELETE' ? '?_id=fz-none' : '';
    return {
      method: r.method,
      path: `${r.path}${q}`,
      headers,
      body: r.method === 'GET' || r.method === 'DELETE' ? undefined : r.body,
    };
  });
}
