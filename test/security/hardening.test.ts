import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useFixtures, useServer } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const FIXTURES = [
  {
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: 'Nordmann', given: ['Kari'] }],
    birthDate: '1980-01-01',
    identifier: [{ system: 'urn:x', value: '1' }],
  },
  {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/p1' },
    valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    effectiveDateTime: '2026-01-01',
  },
];

/** Injection attempts, one per search parameter type (and the result parameters): bound values only. */
const INJECTIONS: [string, string][] = [
  ['Patient?name', "x' OR '1'='1"],
  ['Patient?name:exact', "'; DROP TABLE resources; --"],
  ['Patient?identifier', "urn:x|1' OR 1=1 --"],
  ['Patient?_id', "p1' UNION SELECT content FROM history --"],
  ['Observation?subject', "Patient/p1' OR 'a'='a"],
  ['Observation?subject:Patient.name', "') OR 1=1 --"],
  ['Observation?date', "2026-01-01' OR 1=1 --"],
  ['Observation?value-quantity', "72|http://unitsofmeasure.org|/min' OR 1=1 --"],
  ['Observation?code', 'http://loinc.org|8867-4"); DELETE FROM resources; --'],
  ['Observation?code-value-quantity', "http://loinc.org|8867-4$72' OR 1=1"],
  ['RiskAssessment?probability', "0.5' OR 1=1"],
  ['ValueSet?url', "http://x' OR 1=1 --"],
  ['Patient?_sort', 'name; DROP TABLE resources'],
  ['Patient?_count', '1; DROP TABLE resources'],
  ['Patient?_include', "Patient:general-practitioner' OR 1=1"],
  ['Patient?_has:Observation:subject:code', "x' OR 1=1 --"],
  ['Patient?name:missing', "true' OR 1=1"],
  ['Patient?_lastUpdated', "gt2020' OR 1=1"],
];

describe.each(BACKENDS)('hardening, on $name', (backend) => {
  const t = useServer(backend, { http: { corsOrigins: [], rateLimitPerMinute: 0, maxQueryParams: 100 } });
  useFixtures(t, () => FIXTURES);

  it('security headers on every answer: nothing may be framed, sniffed or run', async () => {
    const res = await t.http().get('/fhir/Patient/p1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined(); // CORS off by default
  });

  it('more query parameters than allowed: 400 naming the limit', async () => {
    const query = Array.from({ length: 101 }, (_, i) => `name=x${i}`).join('&');
    const res = await t.http().get(`/fhir/Patient?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'too-costly' });
  });

  it('control characters (U+0000 …): 400 in a search value, 422 in a resource, on both backends (found by the fuzz on PostgreSQL)', async () => {
    const search = await t.http().get('/fhir/Patient?name=%00x');
    expect(search.status).toBe(400);
    expect(search.body.issue[0].expression).toEqual(['name']);
    const has = await t
      .http()
      .post('/fhir/Patient/_search?_has%3AObservation%3Asubject%3Acode=%00')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('');
    expect(has.status).toBe(400);
    const write = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family: 'Nord\u0000mann' }] });
    expect(write.status).toBe(422);
    expect(write.body.issue[0]).toMatchObject({ expression: ['Patient.name[0].family'] });
    expect(write.body.issue[0].diagnostics).toContain('U+0000');
  });

  it('numbers too large for the database (found by the fuzz on PostgreSQL): a version is 404, _offset and _snapshot 400, never 500', async () => {
    expect((await t.http().get('/fhir/Patient/p1/_history/32772522666445780')).status).toBe(404);
    expect((await t.http().get('/fhir/Patient/p1/_history/2147483648')).status).toBe(404);
    expect((await t.http().get('/fhir/Patient').query({ _offset: '99999999999999999999' })).status).toBe(400);
    expect((await t.http().get('/fhir/Patient').query({ _snapshot: '9999999999999999999999' })).status).toBe(400);
    expect((await t.http().get('/fhir/Patient/p1/_history/1')).status).toBe(200);
  });

  it.each(INJECTIONS)(
    'injection in %s is a bound value: 200 or 400, never 500, and nothing changes',
    async (param, value) => {
      const [type, name] = param.split('?');
      const before = await t.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM resources');
      const res = await t
        .http()
        .get(`/fhir/${type}`)
        .query({ [name]: value });
      expect([200, 400]).toContain(res.status);
      expect(res.body.resourceType).toMatch(/Bundle|OperationOutcome/);
      if (res.status === 200)
        expect(res.body.entry?.filter((e: { search: { mode: string } }) => e.search.mode === 'match') ?? []).toEqual(
          [],
        );
      expect(JSON.stringify(res.body)).not.toMatch(/SQLITE|syntax error|at .*\.(ts|js):\d+/i);
      const after = await t.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM resources');
      expect(Number(after?.n)).toBe(Number(before?.n));
      expect((await t.http().get('/fhir/Patient/p1')).status).toBe(200);
    },
  );
});

describe.each(BACKENDS)('a resource stored leniently with U+0000, on $name', (backend) => {
  const t = useServer(backend, { validationMode: 'lenient' });
  it('is stored, searchable by the rest of its text, and its index keeps no U+0000', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family: 'Nord\u0000mann' }] });
    expect(res.status).toBe(201);
    expect(res.body.name[0].family).toBe('Nord\u0000mann');
    const found = await t.http().get('/fhir/Patient').query({ name: 'Nordmann' });
    expect(found.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([res.body.id]);
  });
});

describe('CORS and rate limits, configured', () => {
  const t = useSecureServer(
    BACKENDS[0],
    () => keys,
    {},
    { http: { corsOrigins: ['https://app.example.no'], rateLimitPerMinute: 5, maxQueryParams: 100 } },
  );
  const as = async (client: string) =>
    `Bearer ${await signToken(keys, { scope: 'system/*.rs', client_id: client }, { now: t.clock.now() })}`;

  it('CORS answers the configured origin only, with the FHIR headers exposed', async () => {
    const ok = await t
      .http()
      .options('/fhir/Patient')
      .set('Origin', 'https://app.example.no')
      .set('Access-Control-Request-Method', 'GET');
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.no');
    expect(ok.headers['access-control-allow-headers']).toContain('Authorization');
    const get = await t.http().get('/fhir/metadata').set('Origin', 'https://app.example.no');
    expect(get.headers['access-control-expose-headers']).toContain('ETag');
    const other = await t.http().get('/fhir/metadata').set('Origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a client over its rate is answered 429 with an OperationOutcome; another client is not held back', async () => {
    const a = await as('busy-client');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await t.http().get('/fhir/Patient').set('Authorization', a)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await t.http().get('/fhir/Patient').set('Authorization', a);
    expect(limited.status).toBe(429);
    expect(limited.body.issue[0].code).toBe('throttled');
    expect(limited.headers['retry-after']).toBeDefined();
    expect(
      (
        await t
          .http()
          .get('/fhir/Patient')
          .set('Authorization', await as('quiet-client'))
      ).status,
    ).toBe(200);
  });

  it('a JSON body over the size or depth limit is refused before it is parsed into a resource', async () => {
    const auth = `Bearer ${await signToken(keys, { scope: 'system/*.cruds', client_id: 'writer' }, { now: t.clock.now() })}`;
    let deep: unknown = { a: 1 };
    for (let i = 0; i < 200; i++) deep = { x: deep };
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', extension: [deep] });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});
