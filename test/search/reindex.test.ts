import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';

const KOMMUNE = 'http://forlop.no/fhir/StructureDefinition/kommunenummer';
const patient = (id: string, kommune: string, family = 'Dahl') => ({
  resourceType: 'Patient',
  id,
  name: [{ family }],
  extension: [{ url: KOMMUNE, valueCode: kommune }],
});
const searchParameter = (expression: string) => ({
  resourceType: 'SearchParameter',
  id: 'patient-kommune',
  url: 'http://forlop.no/fhir/SearchParameter/patient-kommune',
  name: 'kommune',
  status: 'active',
  description: 'The patient\u2019s municipality',
  code: 'kommune',
  base: ['Patient'],
  type: 'token',
  expression,
});

describe.each(BACKENDS)('search parameters of our own, and reindexing, on $name', (backend) => {
  const t = useServer(backend);
  const put = (r: { resourceType: string; id: string }) =>
    t.http().put(`/fhir/${r.resourceType}/${r.id}`).set('Content-Type', FHIR_JSON).send(r);
  const found = async (q: string) =>
    ((await t.http().get(`/fhir/${q}`)).body.entry ?? [])
      .map((e: { resource: { id: string } }) => e.resource.id)
      .sort();

  it('the SearchParameters shipped under profiles/ are searchable (Task?due=…)', async () => {
    await put({
      resourceType: 'Task',
      id: 'due-1',
      status: 'requested',
      intent: 'order',
      restriction: { period: { end: '2026-10-15' } },
    } as never);
    await put({
      resourceType: 'Task',
      id: 'due-2',
      status: 'requested',
      intent: 'order',
      restriction: { period: { end: '2026-11-15' } },
    } as never);
    expect(await found('Task?due=lt2026-11-01')).toEqual(['due-1']);
    const cs = (await t.http().get('/fhir/metadata')).body;
    const task = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Task');
    expect(task.searchParam).toContainEqual({
      name: 'due',
      type: 'date',
      definition: 'http://forlop.no/fhir/SearchParameter/task-due',
    });
    expect(cs.rest[0].operation).toContainEqual({
      name: 'reindex',
      definition: 'http://forlop.no/fhir/OperationDefinition/reindex',
    });
  });

  it('a SearchParameter added through the API indexes new writes at once and old data after $reindex', async () => {
    await put(patient('k-old', '4601'));
    expect(
      (
        await t
          .http()
          .post('/fhir/SearchParameter')
          .set('Content-Type', FHIR_JSON)
          .send(searchParameter(`Patient.extension('${KOMMUNE}').value`))
      ).status,
    ).toBe(201);
    // the parameter is known now: no outcome entry; the old patient is not indexed yet
    const before = await t.http().get('/fhir/Patient?kommune=4601');
    expect(before.body.entry ?? []).toHaveLength(0);
    await put(patient('k-new', '4601'));
    expect(await found('Patient?kommune=4601')).toEqual(['k-new']);
    const res = await t
      .http()
      .post('/fhir/$reindex')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'type', valueCode: 'Patient' }] });
    expect(res.status).toBe(200);
    expect(
      res.body.parameter.find((p: { name: string }) => p.name === 'resources').valueInteger,
    ).toBeGreaterThanOrEqual(2);
    expect(await found('Patient?kommune=4601')).toEqual(['k-new', 'k-old']);
  });

  it('a changed SearchParameter takes effect for all data after a type-level $reindex', async () => {
    await put(searchParameter(`Patient.name.family`) as never);
    await t.http().post('/fhir/Patient/$reindex').set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters' });
    expect(await found('Patient?kommune=4601')).toEqual([]);
    expect(await found('Patient?kommune=Dahl')).toEqual(['k-new', 'k-old']);
    await put(searchParameter(`Patient.extension('${KOMMUNE}').value`) as never);
    await t.http().post('/fhir/Patient/$reindex').set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters' });
    expect(await found('Patient?kommune=4601')).toEqual(['k-new', 'k-old']);
  });

  it('reindexing beside concurrent updates leaves exactly the current index rows', async () => {
    for (let i = 0; i < 60; i++) await put(patient(`rc-${i}`, '5001', 'Before'));
    const reindexing = t
      .http()
      .post('/fhir/$reindex')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters' });
    const updates = Array.from({ length: 60 }, (_, i) => put(patient(`rc-${i}`, '5001', 'After')));
    const [r] = await Promise.all([reindexing, ...updates]);
    expect(r.status).toBe(200);
    expect(await found('Patient?family=before')).toEqual([]);
    expect((await found('Patient?family=after&_count=100')).length).toBe(60);
    // one family row per patient: no duplicate from the reindex racing an update
    const rows = await t.storage.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM sp_string s JOIN resources r ON r.rid = s.rid WHERE r.type = 'Patient' AND r.id LIKE 'rc-%' AND s.norm = 'after'`,
    );
    expect(Number(rows[0].n)).toBe(60 * 3); // name, family and phonetic each index the family once
  });

  it('operation errors: unknown type, wrong method, unknown operation', async () => {
    const bad = await t
      .http()
      .post('/fhir/$reindex')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'type', valueCode: 'Nope' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['type']);
    expect((await t.http().get('/fhir/$reindex')).status).toBe(405);
    expect(
      (await t.http().post('/fhir/$nothing').set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters' }))
        .status,
    ).toBe(404);
    expect(
      (
        await t
          .http()
          .post('/fhir/Patient/x/$reindex')
          .set('Content-Type', FHIR_JSON)
          .send({ resourceType: 'Parameters' })
      ).status,
    ).toBe(404);
    expect(
      (await t.http().post('/fhir/$reindex').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient' })).status,
    ).toBe(400);
  });

  it('forlop reindex rebuilds the index of a database from the command line', async () => {
    await t.storage.run(`DELETE FROM sp_token`); // as if the token index were lost
    expect(await found('Patient?kommune=4601')).toEqual([]);
    const run = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '../../bin/forlop.js'), 'reindex', '--type', 'Patient'],
      {
        env: { ...process.env, DATABASE_URL: t.databaseUrl, BASE_URL: 'http://localhost:8080/fhir' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Reindexed \d+ resources/);
    expect(run.stderr).toContain('reindex [');
    expect(await found('Patient?kommune=4601')).toEqual(['k-new', 'k-old']);
  });
});

describe.each(BACKENDS)('SearchParameter resources that cannot be indexed, on $name', (backend) => {
  const t = useServer(backend);
  it('an active one without an expression, or with an unknown base, is refused with 422; a draft is stored', async () => {
    const post = (body: object) => t.http().post('/fhir/SearchParameter').set('Content-Type', FHIR_JSON).send(body);
    const noExpr = await post({ ...searchParameter('x'), id: undefined, expression: undefined });
    expect(noExpr.status).toBe(422);
    expect(noExpr.body.issue[0].expression).toEqual(['SearchParameter.code']);
    const badBase = await post({ ...searchParameter('Patient.id'), id: undefined, base: ['Unicorn'] });
    expect(badBase.status).toBe(422);
    expect(badBase.body.issue[0].expression).toEqual(['SearchParameter.base[0]']);
    expect(
      (await post({ ...searchParameter('x'), id: undefined, status: 'draft', expression: undefined })).status,
    ).toBe(201);
    expect((await t.http().get('/fhir/SearchParameter?_summary=count')).body.total).toBe(1);
  });
});
