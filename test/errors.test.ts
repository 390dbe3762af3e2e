import { describe, expect, it } from 'vitest';
import { BACKENDS } from './support/backends.js';
import { FHIR_JSON, useServer } from './support/server.js';

/** Every bad request gets an OperationOutcome with the right status: never a stack trace, never a 500. */
function expectOutcome(
  res: { status: number; body: { resourceType?: string; issue?: unknown[] }; text: string },
  status: number,
): void {
  expect(res.status).toBe(status);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue?.length).toBeGreaterThan(0);
  expect(res.text).not.toMatch(/at .+\.(ts|js):\d+/);
  expect(res.text).not.toContain('/work/');
}

describe.each(BACKENDS)('errors on $name', (backend) => {
  const t = useServer(backend, { limits: { maxBodyBytes: 10_000, maxBundleEntries: 5 } });

  it('400 for malformed JSON', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send('{"resourceType": "Patient", ');
    expectOutcome(res, 400);
  });

  it('400 for a body that is not an object, or of the wrong resourceType', async () => {
    expectOutcome(await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('[1,2]'), 400);
    expectOutcome(await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('"text"'), 400);
    const wrong = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Observation', status: 'final', code: {} });
    expectOutcome(wrong, 400);
    expect(wrong.body.issue[0].expression).toEqual(['resourceType']);
    expectOutcome(await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ name: [] }), 400);
  });

  it('400 for a create with search parameters (they would be ignored: a conditional create uses If-None-Exist); nothing stored', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient?identifier=urn:x|1')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: undefined, active: true });
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'invalid', expression: ['url'] });
    expect((await t.http().get('/fhir/Patient').query({ active: 'true', _summary: 'count' })).body.total).toBe(0);
    expect(
      (
        await t
          .http()
          .post('/fhir/Basic?_format=json')
          .set('Content-Type', FHIR_JSON)
          .send({ resourceType: 'Basic', code: { text: 'format is no criterion' } })
      ).status,
    ).toBe(201);
  });

  it('400 for too deep JSON', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expectOutcome(
      await t
        .http()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', extension: [deep] }),
      400,
    );
  });

  it('404 for an unknown type or id, and for paths that are no endpoint', async () => {
    expectOutcome(await t.http().get('/fhir/Unicorn/1'), 404);
    expectOutcome(await t.http().get('/fhir/Patient/does-not-exist'), 404);
    expectOutcome(
      await t.http().post('/fhir/Unicorn').set('Content-Type', FHIR_JSON).send({ resourceType: 'Unicorn' }),
      404,
    );
    expectOutcome(await t.http().get('/fhir/Patient/1/2/3/4/5'), 404);
    expectOutcome(await t.http().get('/fhir/Parameters/1'), 404);
  });

  it('405 for a method the URL does not support', async () => {
    expectOutcome(
      await t.http().post('/fhir/Patient/123').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient' }),
      405,
    );
    expectOutcome(await t.http().delete('/fhir/Patient/_history'), 405);
    expectOutcome(
      await t.http().put('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient' }),
      405,
    );
  });

  it('409 for a version written concurrently is covered by the concurrency test; 412 for If-Match on a missing resource', async () => {
    const res = await t
      .http()
      .put('/fhir/Patient/nobody-here')
      .set('If-Match', 'W/"1"')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'nobody-here' });
    expectOutcome(res, 412);
    expectOutcome(
      await t
        .http()
        .put('/fhir/Patient/x1')
        .set('If-Match', '')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', id: 'x1' }),
      400,
    );
  });

  it('413 for a body over the limit and for too many Bundle entries', async () => {
    const big = { resourceType: 'Patient', name: [{ text: 'x'.repeat(20_000) }] };
    expectOutcome(await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(big), 413);
    const entries = Array.from({ length: 6 }, () => ({ request: { method: 'GET', url: 'Patient' } }));
    const res = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'batch', entry: entries });
    expectOutcome(res, 413);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry']);
  });

  it('415 for a media type we do not speak', async () => {
    expectOutcome(
      await t.http().post('/fhir/Patient').set('Content-Type', 'text/turtle').send('[] a fhir:Patient .'),
      415,
    );
    expectOutcome(await t.http().post('/fhir/Patient').set('Content-Type', 'text/plain').send('hello'), 415);
  });

  it('422 for an invalid resource, naming the element', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', favouriteColour: 'blue' });
    expectOutcome(res, 422);
    expect(res.body.issue[0].expression).toEqual(['Patient.favouriteColour']);
    const arr = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', gender: ['male'] });
    expectOutcome(arr, 422);
    expect(arr.body.issue[0].expression).toEqual(['Patient.gender']);
    const single = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: { family: 'x' } });
    expectOutcome(single, 422);
    // nothing was stored
    expect((await t.http().get('/fhir/Patient?_summary=count')).body.total).toBe(0);
  });

  it('400 for bad search values, naming the parameter', async () => {
    const date = await t.http().get('/fhir/Patient?birthdate=notadate');
    expectOutcome(date, 400);
    expect(date.body.issue[0].expression).toEqual(['birthdate']);
    const count = await t.http().get('/fhir/Patient?_count=-1');
    expectOutcome(count, 400);
    expect(count.body.issue[0].expression).toEqual(['_count']);
    const mod = await t.http().get('/fhir/Patient?name:fuzzy=x');
    expectOutcome(mod, 400);
    expectOutcome(await t.http().get('/fhir/Patient?birthdate=xx2020'), 400);
    expectOutcome(await t.http().get('/fhir/Observation?value-quantity=abc'), 400);
  });

  it('unknown search parameters are reported in an outcome entry, or refused under handling=strict', async () => {
    const lenient = await t.http().get('/fhir/Patient?shoe-size=44');
    expect(lenient.status).toBe(200);
    const outcome = lenient.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome');
    expect(outcome.resource.issue[0].expression).toEqual(['shoe-size']);
    expect(lenient.body.link[0].url).not.toContain('shoe-size');
    const strict = await t.http().get('/fhir/Patient?shoe-size=44').set('Prefer', 'handling=strict');
    expectOutcome(strict, 400);
  });

  it('a malformed URL escape is a 400', async () => {
    expectOutcome(await t.http().get('/fhir/Patient/%E0%A4%A'), 400);
  });
});
