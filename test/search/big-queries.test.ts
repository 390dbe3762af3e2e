import { describe, expect, it } from 'vitest';
import { MAX_CHAIN_LINKS, MAX_OR_VALUES } from '../../src/fhir/search/limits.js';
import { BACKENDS } from '../support/backends.js';
import {
  EVEN,
  ID_SYSTEM,
  LOINC,
  N,
  observations,
  orList,
  organizations,
  partofChain,
  patients,
  practitioners,
  wideTerminology,
} from '../support/big-queries.js';
import { useFixtures, useServer } from '../support/server.js';

/**
 * Big searches never fail on the database (SQLite refuses an expression deeper than 1,000, which a
 * list of ~500 OR-ed values or a chain of 15 links used to make): up to the limits (docs/scale-out.md)
 * they answer with the right matches on both backends; past them, 400 `too-costly` naming the parameter.
 */
const FORM = 'application/x-www-form-urlencoded';
const pad2 = (n: number) => String(n).padStart(2, '0');
type Entry = { resource: { resourceType: string; id: string }; search: { mode: string } };
const ids = (body: { entry?: Entry[] }, mode = 'match') =>
  (body.entry ?? [])
    .filter((e) => e.search.mode === mode)
    .map((e) => e.resource.id)
    .sort();

describe.each(BACKENDS)('big queries on $name', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => [
    ...practitioners(),
    ...patients(),
    ...observations(),
    ...organizations(),
    ...wideTerminology(),
  ]);
  /** POST [type]/_search: a thousand values do not fit in a URL. */
  const search = (type: string, params: Record<string, string>) =>
    t
      .http()
      .post(`/fhir/${type}/_search`)
      .set('Content-Type', FORM)
      .send(new URLSearchParams({ _count: '1000', ...params }).toString());
  const expectMatches = async (res: Awaited<ReturnType<typeof search>>, expected: string[]) => {
    expect(res.status, JSON.stringify(res.body.issue ?? '')).toBe(200);
    expect(ids(res.body)).toEqual([...expected].sort());
    expect(res.body.total).toBe(expected.length);
  };
  const expectTooCostly = (res: Awaited<ReturnType<typeof search>>, parameter: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'too-costly', expression: [parameter] });
  };
  const evenPatients = EVEN().map((i) => `bq-${i}`);

  it(`999 _id values by GET: the ${N / 2} that exist among them`, async () => {
    const list = orList(
      999,
      EVEN(),
      (i) => `bq-${i}`,
      (j) => `miss-${j}`,
    );
    await expectMatches(await t.http().get(`/fhir/Patient?_id=${list}&_count=1000`), evenPatients);
  });

  it('999 token values: system|value, value alone, and :not', async () => {
    await expectMatches(
      await search('Patient', {
        identifier: orList(
          999,
          EVEN(),
          (i) => `${ID_SYSTEM}|bq-id-${i}`,
          (j) => `${ID_SYSTEM}|miss-${j}`,
        ),
      }),
      evenPatients,
    );
    await expectMatches(
      await search('Patient', {
        identifier: orList(
          999,
          EVEN(),
          (i) => `bq-id-${i}`,
          (j) => `miss-${j}`,
        ),
      }),
      evenPatients,
    );
    const odd = Array.from({ length: N / 2 }, (_, i) => `bq-${i * 2 + 1}`);
    await expectMatches(
      await search('Patient', {
        'identifier:not': orList(
          999,
          EVEN(),
          (i) => `${ID_SYSTEM}|bq-id-${i}`,
          (j) => `other|${j}`,
        ),
      }),
      odd,
    );
  });

  it('999 string, reference and date values', async () => {
    await expectMatches(
      await search('Patient', {
        name: orList(
          999,
          EVEN(),
          (i) => `navn${String(i).padStart(3, '0')}`,
          (j) => `zz${j}`,
        ),
      }),
      evenPatients,
    );
    await expectMatches(
      await search('Patient', {
        'general-practitioner': orList(
          999,
          EVEN(),
          (i) => `Practitioner/bq-gp-${i}`,
          (j) => `Practitioner/miss-${j}`,
        ),
      }),
      evenPatients,
    );
    const missDate = (j: number) => `${1800 + (j % 100)}-${pad2(1 + (j % 12))}-${pad2(1 + (j % 28))}`;
    await expectMatches(
      await search('Patient', { birthdate: orList(999, EVEN(), (i) => `${1950 + i}-06-15`, missDate) }),
      evenPatients,
    );
  });

  it('999 composite values (code$value on the same Observation)', async () => {
    const list = orList(
      999,
      EVEN(20),
      (i) => `${LOINC}|bq-${i}$${i}`,
      (j) => `${LOINC}|bq-${j % 20}$${100 + j}`,
    );
    await expectMatches(
      await search('Observation', { 'code-value-quantity': list }),
      EVEN(20).map((i) => `bq-obs-${i}`),
    );
  });

  it('a token :in a value set of 600 codes', async () => {
    await expectMatches(await t.http().get('/fhir/Observation?code:in=http://forlop.test/ValueSet/wide'), [
      'bq-wide-10',
      'bq-wide-599',
    ]);
  });

  it(`${MAX_OR_VALUES} values are the most: one more is 400 too-costly naming the parameter`, async () => {
    const at = (n: number) =>
      orList(
        n,
        [],
        () => '',
        (j) => `miss-${j}`,
      );
    expect((await t.http().get(`/fhir/Patient?_id=${at(MAX_OR_VALUES)}`)).status).toBe(200);
    expectTooCostly(await t.http().get(`/fhir/Patient?_id=${at(MAX_OR_VALUES + 1)}`), '_id');
    expectTooCostly(await search('Patient', { identifier: at(MAX_OR_VALUES + 1) }), 'identifier');
    expectTooCostly(
      await search('Patient', {
        birthdate: orList(
          MAX_OR_VALUES + 1,
          [],
          () => '',
          (j) => `${1800 + (j % 100)}`,
        ),
      }),
      'birthdate',
    );
    expectTooCostly(
      await search('Patient', { 'general-practitioner:Practitioner.name': at(MAX_OR_VALUES + 1) }),
      'general-practitioner:Practitioner.name',
    );
  });

  it('values bound by all parameters together have a limit: 400 naming the parameter that passes it', async () => {
    // 31 × 1,000 values: each list is allowed, all of them together would be more than SQLite binds
    const list = orList(
      MAX_OR_VALUES,
      [],
      () => '',
      (j) => `miss-${j}`,
    );
    const body = Array.from({ length: 31 }, () => `_id=${list}`).join('&');
    expectTooCostly(await t.http().post('/fhir/Patient/_search').set('Content-Type', FORM).send(body), '_id');
  });

  it(`a chain of ${MAX_CHAIN_LINKS} links finds its match; one link more, or 14, is 400 too-costly`, async () => {
    const chain = partofChain(MAX_CHAIN_LINKS);
    await expectMatches(await t.http().get(`/fhir/Organization?${chain}=rot`), [`bq-org-${MAX_CHAIN_LINKS}`]);
    await expectMatches(await t.http().get(`/fhir/Organization?${partofChain(3)}=rot`), ['bq-org-3']);
    for (const links of [MAX_CHAIN_LINKS + 1, 14, 20]) {
      expectTooCostly(await t.http().get(`/fhir/Organization?${partofChain(links)}=rot`), partofChain(links));
    }
    const task = `based-on:CarePlan.subject:Patient.${'link:Patient.'.repeat(12)}name`;
    expectTooCostly(await t.http().get(`/fhir/Task?${task}=x`), task);
  });

  it('_has nests up to the limit; chains and _has count together', async () => {
    // organizations with a part, that has a part, … (read backwards: bq-org-0 has 9 levels below it)
    const has = (n: number) => `${'_has:Organization:partof:'.repeat(n)}name`;
    await expectMatches(await t.http().get(`/fhir/Organization?${has(MAX_CHAIN_LINKS)}=ledd 9`), ['bq-org-1']);
    expectTooCostly(
      await t.http().get(`/fhir/Organization?${has(MAX_CHAIN_LINKS + 1)}=ledd 9`),
      has(MAX_CHAIN_LINKS + 1),
    );
    const mixed = `${'_has:Organization:partof:'.repeat(5)}${partofChain(4)}`;
    expectTooCostly(await t.http().get(`/fhir/Organization?${mixed}=rot`), mixed);
  });

  it('an untyped link searches the target types that have the rest of the chain, up to a limit of types', async () => {
    // Patient.link may point at a RelatedPerson too, which has no `link`: passed over, not an error
    await expectMatches(await t.http().get('/fhir/Patient?link.link.name=navn000'), ['bq-2']);
    await expectMatches(await t.http().get('/fhir/Patient?general-practitioner.name=lege004'), ['bq-4']);
    // Provenance.target is any resource, and each one's subject several: name the types instead
    expectTooCostly(await t.http().get('/fhir/Provenance?target.subject.name=x'), 'target.subject.name');
    expect((await t.http().get('/fhir/Provenance?target:CarePlan.subject:Patient.name=x')).status).toBe(200);
  });

  it('_sort takes at most 8 keys', async () => {
    expect(
      (await t.http().get('/fhir/Patient?_sort=name,birthdate,gender,family,given,address,phone,-_id')).status,
    ).toBe(200);
    expectTooCostly(
      await t.http().get('/fhir/Patient?_sort=name,birthdate,gender,family,given,address,phone,email,-_id'),
      '_sort',
    );
  });
});

describe.each(BACKENDS)('_include and _revinclude limits on $name', (backend) => {
  // a page limit of 10 (MAX_COUNT): the includes of one page may add at most 10 resources
  const t = useServer(backend, { limits: { maxCount: 10 } });
  useFixtures(t, () => [
    { resourceType: 'Patient', id: 'inc-many' },
    { resourceType: 'Patient', id: 'inc-few' },
    ...Array.from({ length: 12 }, (_, i) => ({
      resourceType: 'Observation',
      id: `inc-obs-${i}`,
      status: 'final',
      code: { text: 'x' },
      subject: { reference: 'Patient/inc-many' },
    })),
    ...Array.from({ length: 3 }, (_, i) => ({
      resourceType: 'Observation',
      id: `inc-few-${i}`,
      status: 'final',
      code: { text: 'x' },
      subject: { reference: 'Patient/inc-few' },
    })),
    ...organizations(),
  ]);
  const get = (q: string) => t.http().get(`/fhir/${q}`);

  it('a page whose includes would add more than the page limit is 400 too-costly naming the include', async () => {
    const few = await get('Patient?_id=inc-few&_revinclude=Observation:subject');
    expect(few.status).toBe(200);
    expect(ids(few.body, 'include')).toEqual(['inc-few-0', 'inc-few-1', 'inc-few-2']);
    const many = await get('Patient?_id=inc-many&_revinclude=Observation:subject');
    expect(many.status).toBe(400);
    expect(many.body.issue[0]).toMatchObject({ severity: 'error', code: 'too-costly', expression: ['_revinclude'] });
    expect(many.body.issue[0].diagnostics).toContain('_count');
  });

  it(':iterate follows 4 hops; one that would go on is 400 too-costly naming it', async () => {
    const four = await get('Organization?_id=bq-org-4&_include:iterate=Organization:partof');
    expect(four.status).toBe(200);
    expect(ids(four.body, 'include')).toEqual(['bq-org-0', 'bq-org-1', 'bq-org-2', 'bq-org-3']);
    const five = await get('Organization?_id=bq-org-5&_include:iterate=Organization:partof');
    expect(five.status).toBe(400);
    expect(five.body.issue[0]).toMatchObject({
      severity: 'error',
      code: 'too-costly',
      expression: ['_include:iterate'],
    });
    // without :iterate, one hop
    const once = await get('Organization?_id=bq-org-5&_include=Organization:partof');
    expect(ids(once.body, 'include')).toEqual(['bq-org-4']);
  });

  it('the same through POST _search', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient/_search')
      .set('Content-Type', FORM)
      .send('_id=inc-many&_revinclude=Observation:subject');
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'too-costly', expression: ['_revinclude'] });
  });
});
