import { describe, expect, it } from 'vitest';
import { BACKENDS } from './support/backends.js';
import { BASE, FHIR_JSON, useServer } from './support/server.js';

const patient = (family: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Kari'] }],
  ...extra,
});

describe.each(BACKENDS)('REST interactions on $name', (backend) => {
  const t = useServer(backend);

  it('create answers 201 with Location, ETag, Last-Modified and meta', async () => {
    const res = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Nordmann'));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.body.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(res.body.meta).toEqual({ versionId: '1', lastUpdated: '2026-10-01T08:00:00.000Z' });
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toBe('Thu, 01 Oct 2026 08:00:00 GMT');
    expect(res.headers.location).toBe(`${BASE}/Patient/${res.body.id}/_history/1`);
  });

  it('create ignores a client id and accepts application/json', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', 'application/json')
      .send({ ...patient('Hansen'), id: 'mine' });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe('mine');
  });

  it('read returns the stored resource; vread returns a given version', async () => {
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Olsen'));
    const id = created.body.id;
    const read = await t.http().get(`/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.headers.etag).toBe('W/"1"');
    t.clock.advance(60_000);
    const upd = await t
      .http()
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient('Olsen-Berg'), id });
    expect(upd.status).toBe(200);
    expect(upd.body.meta.versionId).toBe('2');
    const v1 = await t.http().get(`/fhir/Patient/${id}/_history/1`);
    expect(v1.status).toBe(200);
    expect(v1.body.name[0].family).toBe('Olsen');
    const v2 = await t.http().get(`/fhir/Patient/${id}/_history/2`);
    expect(v2.body.name[0].family).toBe('Olsen-Berg');
    expect((await t.http().get(`/fhir/Patient/${id}/_history/3`)).status).toBe(404);
    expect((await t.http().get(`/fhir/Patient/${id}/_history/x`)).status).toBe(404);
  });

  it('conditional read answers 304 for a matching If-None-Match or If-Modified-Since', async () => {
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Lie'));
    const id = created.body.id;
    expect((await t.http().get(`/fhir/Patient/${id}`).set('If-None-Match', 'W/"1"')).status).toBe(304);
    expect((await t.http().get(`/fhir/Patient/${id}`).set('If-None-Match', 'W/"7"')).status).toBe(200);
    expect(
      (await t.http().get(`/fhir/Patient/${id}`).set('If-Modified-Since', 'Fri, 01 Jan 2100 00:00:00 GMT')).status,
    ).toBe(304);
    expect(
      (await t.http().get(`/fhir/Patient/${id}`).set('If-Modified-Since', 'Thu, 01 Jan 2015 00:00:00 GMT')).status,
    ).toBe(200);
  });

  it('update-as-create with a client id answers 201; a later update 200', async () => {
    const first = await t
      .http()
      .put('/fhir/Patient/pas-1')
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient('Berg'), id: 'pas-1' });
    expect(first.status).toBe(201);
    expect(first.headers.location).toBe(`${BASE}/Patient/pas-1/_history/1`);
    const second = await t
      .http()
      .put('/fhir/Patient/pas-1')
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient('Berg'), id: 'pas-1', active: true });
    expect(second.status).toBe(200);
    expect(second.headers.etag).toBe('W/"2"');
  });

  it('update refuses a missing or different id and invalid ids', async () => {
    const noId = await t.http().put('/fhir/Patient/p-x').set('Content-Type', FHIR_JSON).send(patient('A'));
    expect(noId.status).toBe(400);
    expect(noId.body.issue[0].expression).toEqual(['Patient.id']);
    const other = await t
      .http()
      .put('/fhir/Patient/p-x')
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient('A'), id: 'p-y' });
    expect(other.status).toBe(400);
    const bad = await t
      .http()
      .put(`/fhir/Patient/${'a'.repeat(65)}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient('A'), id: 'a'.repeat(65) });
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    const badChar = await t.http().get('/fhir/Patient/bad_id!');
    expect(badChar.status).toBe(400);
  });

  it('If-Match: the current version updates, a stale one is 412', async () => {
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Moe'));
    const id = created.body.id;
    const ok = await t
      .http()
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', 'W/"1"')
      .send({ ...patient('Moe'), id, active: true });
    expect(ok.status).toBe(200);
    const stale = await t
      .http()
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', 'W/"1"')
      .send({ ...patient('Moe'), id });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    expect((await t.http().get(`/fhir/Patient/${id}`)).body.meta.versionId).toBe('2');
    const staleDelete = await t.http().delete(`/fhir/Patient/${id}`).set('If-Match', 'W/"1"');
    expect(staleDelete.status).toBe(412);
  });

  it('delete, then read is 410 Gone, vread of the old version still works, history shows the deletion', async () => {
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Dahl'));
    const id = created.body.id;
    expect((await t.http().delete(`/fhir/Patient/${id}`)).status).toBe(204);
    const gone = await t.http().get(`/fhir/Patient/${id}`);
    expect(gone.status).toBe(410);
    expect(gone.body.issue[0].code).toBe('deleted');
    expect((await t.http().get(`/fhir/Patient/${id}/_history/1`)).status).toBe(200);
    expect((await t.http().get(`/fhir/Patient/${id}/_history/2`)).status).toBe(410);
    // deleting again changes nothing and still succeeds
    expect((await t.http().delete(`/fhir/Patient/${id}`)).status).toBe(204);
    const hist = await t.http().get(`/fhir/Patient/${id}/_history`);
    expect(hist.body.type).toBe('history');
    expect(hist.body.total).toBe(2);
    expect(hist.body.entry[0].request).toEqual({ method: 'DELETE', url: `Patient/${id}` });
    expect(hist.body.entry[0].resource).toBeUndefined();
    expect(hist.body.entry[1].request).toEqual({ method: 'POST', url: 'Patient' });
    // the deleted resource no longer matches searches
    expect((await t.http().get(`/fhir/Patient?_id=${id}`)).body.total).toBe(0);
    // a resource can be brought back by an update
    const back = await t
      .http()
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient('Dahl'), id });
    expect(back.status).toBe(201);
    expect(back.body.meta.versionId).toBe('3');
  });

  it('delete of an id never seen is 204', async () => {
    expect((await t.http().delete('/fhir/Patient/never-was')).status).toBe(204);
  });

  it('history at instance, type and system level, with _since and _count paging', async () => {
    t.clock.set('2026-10-02T10:00:00.000Z');
    const a = await t
      .http()
      .post('/fhir/Observation')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Observation', status: 'final', code: { text: 'a' } });
    t.clock.set('2026-10-03T10:00:00.000Z');
    const b = await t
      .http()
      .post('/fhir/Observation')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Observation', status: 'final', code: { text: 'b' } });
    t.clock.set('2026-10-04T10:00:00.000Z');
    await t
      .http()
      .put(`/fhir/Observation/${a.body.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...a.body, status: 'amended' });

    const type = await t.http().get('/fhir/Observation/_history');
    expect(type.body.total).toBe(3);
    expect(
      type.body.entry.map(
        (e: { resource: { id: string; meta: { versionId: string } } }) =>
          `${e.resource.id}/${e.resource.meta.versionId}`,
      ),
    ).toEqual([`${a.body.id}/2`, `${b.body.id}/1`, `${a.body.id}/1`]);
    const since = await t.http().get('/fhir/Observation/_history?_since=2026-10-03T00:00:00Z');
    expect(since.body.total).toBe(2);

    const page1 = await t.http().get('/fhir/Observation/_history?_count=2');
    expect(page1.body.entry).toHaveLength(2);
    const next = page1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    // a new version written between pages must not shift the next page
    await t
      .http()
      .post('/fhir/Observation')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Observation', status: 'final', code: { text: 'c' } });
    const page2 = await t.http().get(next.replace(BASE, '/fhir'));
    expect(page2.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([a.body.id]);
    expect(page2.body.link.find((l: { relation: string }) => l.relation === 'next')).toBeUndefined();

    const system = await t.http().get('/fhir/_history?_count=1');
    expect(system.body.entry).toHaveLength(1);
    expect(system.body.total).toBeGreaterThanOrEqual(4);
    const bad = await t.http().get('/fhir/_history?_since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['_since']);
    expect((await t.http().get('/fhir/Patient/unknown-id/_history')).status).toBe(404);
  });

  it('links the first and last pages of a history (R4 §3.1.1.5.6), the last one holding the oldest', async () => {
    const created = await t
      .http()
      .post('/fhir/Basic')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Basic', code: { text: 'v1' } });
    const id = created.body.id as string;
    for (let v = 2; v <= 7; v++)
      await t
        .http()
        .put(`/fhir/Basic/${id}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Basic', id, code: { text: `v${v}` } });
    const link = (b: { link: { relation: string; url: string }[] }, rel: string) =>
      b.link.find((l) => l.relation === rel)?.url.replace(BASE, '/fhir');
    const versions = (b: { entry: { resource: { meta: { versionId: string } } }[] }) =>
      b.entry.map((e) => e.resource.meta.versionId);
    const page1 = await t.http().get(`/fhir/Basic/${id}/_history?_count=3`);
    expect(versions(page1.body)).toEqual(['7', '6', '5']);
    const last = await t.http().get(link(page1.body, 'last')!);
    expect(versions(last.body)).toEqual(['1']); // 7 versions in pages of 3: 7-5, 4-2, 1
    // the last page is where following `next` ends, and `first` leads back to the newest
    const page2 = await t.http().get(link(page1.body, 'next')!);
    expect(versions((await t.http().get(link(page2.body, 'next')!)).body)).toEqual(['1']);
    expect(versions((await t.http().get(link(last.body, 'first')!)).body)).toEqual(['7', '6', '5']);
    const one = await t.http().get(`/fhir/Basic/${id}/_history?_count=10`);
    expect(link(one.body, 'last')).toBe(link(one.body, 'first'));
  });

  it('If-None-Exist: creates when nothing matches, returns the match when one does, 412 when several do', async () => {
    const body = patient('Vik', { identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13097248022' }] });
    const first = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('If-None-Exist', 'identifier=urn:oid:2.16.578.1.12.4.1.4.1|13097248022')
      .send(body);
    expect(first.status).toBe(201);
    const again = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('If-None-Exist', 'identifier=urn:oid:2.16.578.1.12.4.1.4.1|13097248022')
      .send(body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // paging parameters in the criteria cannot hide the match and cause a duplicate
    for (const extra of ['_count=0', '_offset=5']) {
      const paged = await t
        .http()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .set('If-None-Exist', `identifier=urn:oid:2.16.578.1.12.4.1.4.1|13097248022&${extra}`)
        .send(body);
      expect(paged.status, extra).toBe(200);
      expect(paged.body.id).toBe(first.body.id);
    }
    await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(patient('Twin', { gender: 'other', birthDate: '1911-11-11' }));
    await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(patient('Twin', { gender: 'other', birthDate: '1911-11-11' }));
    const many = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('If-None-Exist', 'birthdate=1911-11-11')
      .send(patient('Twin'));
    expect(many.status).toBe(412);
    const unknown = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('If-None-Exist', 'no-such-param=1')
      .send(patient('X'));
    expect(unknown.status).toBe(400);
  });

  it('conditional update creates, then updates the one match; several matches are 412', async () => {
    const q = '/fhir/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|24040199981';
    const body = patient('Strand', { identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '24040199981' }] });
    const created = await t.http().put(q).set('Content-Type', FHIR_JSON).send(body);
    expect(created.status).toBe(201);
    const updated = await t
      .http()
      .put(q)
      .set('Content-Type', FHIR_JSON)
      .send({ ...body, active: true });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.meta.versionId).toBe('2');
    const wrongId = await t
      .http()
      .put(q)
      .set('Content-Type', FHIR_JSON)
      .send({ ...body, id: 'someone-else' });
    expect(wrongId.status).toBe(400);
    const many = await t
      .http()
      .put('/fhir/Patient?birthdate=1911-11-11')
      .set('Content-Type', FHIR_JSON)
      .send(patient('Twin'));
    expect(many.status).toBe(412);
  });

  it('conditional delete removes the single match; several matches are 412', async () => {
    const body = patient('Sletten', { identifier: [{ system: 'urn:test', value: 'del-1' }] });
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(body);
    expect((await t.http().delete('/fhir/Patient?identifier=urn:test|del-1')).status).toBe(204);
    expect((await t.http().get(`/fhir/Patient/${created.body.id}`)).status).toBe(410);
    expect((await t.http().delete('/fhir/Patient?identifier=urn:test|del-1')).status).toBe(204);
    expect((await t.http().delete('/fhir/Patient?birthdate=1911-11-11')).status).toBe(412);
  });

  it('Prefer: return=minimal, representation and OperationOutcome', async () => {
    const minimal = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=minimal')
      .send(patient('Min'));
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.location).toMatch(/\/Patient\/.+\/_history\/1$/);
    const rep = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=representation')
      .send(patient('Rep'));
    expect(rep.body.resourceType).toBe('Patient');
    const oo = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=OperationOutcome')
      .send(patient('Oo'));
    expect(oo.status).toBe(201);
    expect(oo.body.resourceType).toBe('OperationOutcome');
    expect(oo.body.issue[0].severity).toBe('information');
  });

  it('JSON Patch applies, honours If-Match, and reports bad patches', async () => {
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Patch'));
    const id = created.body.id;
    const ok = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([
        { op: 'replace', path: '/name/0/family', value: 'Patched' },
        { op: 'add', path: '/active', value: true },
      ]);
    expect(ok.status).toBe(200);
    expect(ok.body.name[0].family).toBe('Patched');
    expect(ok.body.active).toBe(true);
    expect(ok.body.meta.versionId).toBe('2');
    const hist = await t.http().get(`/fhir/Patient/${id}/_history`);
    expect(hist.body.entry[0].request.method).toBe('PATCH');
    const failedTest = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'test', path: '/active', value: false }]);
    expect(failedTest.status).toBe(422);
    const notArray = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send({ op: 'add' });
    expect(notArray.status).toBe(400);
    const badOp = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'jump', path: '/a' }]);
    expect(badOp.status).toBe(400);
    const changeId = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'replace', path: '/id', value: 'other' }]);
    expect(changeId.status).toBe(422);
    const stale = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"1"')
      .send([{ op: 'add', path: '/gender', value: 'female' }]);
    expect(stale.status).toBe(412);
    const invalid = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'add', path: '/colour', value: 'blue' }]);
    expect(invalid.status).toBe(422);
    expect(invalid.body.issue[0].expression).toEqual(['Patient.colour']);
    expect(
      (await t.http().patch('/fhir/Patient/nobody').set('Content-Type', 'application/json-patch+json').send([])).status,
    ).toBe(404);
    const cond = await t
      .http()
      .patch(`/fhir/Patient?_id=${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'add', path: '/gender', value: 'female' }]);
    expect(cond.status).toBe(200);
    expect(cond.body.gender).toBe('female');
  });

  it('_format and _pretty; XML by _format or Accept (test/xml), Turtle is 406', async () => {
    const created = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('Fmt'));
    const pretty = await t.http().get(`/fhir/Patient/${created.body.id}?_pretty=true&_format=json`);
    expect(pretty.status).toBe(200);
    expect(pretty.text).toContain('\n  "resourceType": "Patient"');
    const fmt = await t.http().get(`/fhir/Patient/${created.body.id}?_format=application/fhir+json`);
    expect(fmt.status).toBe(200);
    const xml = await t.http().get(`/fhir/Patient/${created.body.id}?_format=xml`);
    expect(xml.status).toBe(200);
    expect(xml.headers['content-type']).toBe('application/fhir+xml; charset=utf-8');
    const accepted = await t.http().get(`/fhir/Patient/${created.body.id}`).set('Accept', 'application/fhir+xml');
    expect(accepted.status).toBe(200);
    expect(accepted.headers['content-type']).toBe('application/fhir+xml; charset=utf-8');
    expect((await t.http().get(`/fhir/Patient/${created.body.id}?_format=ttl`)).status).toBe(406);
    expect((await t.http().get(`/fhir/Patient/${created.body.id}`).set('Accept', 'text/turtle')).status).toBe(406);
    expect((await t.http().get(`/fhir/Patient/${created.body.id}`).set('Accept', 'application/fhir+json')).status).toBe(
      200,
    );
  });

  it('_summary and _elements on read mark the result SUBSETTED', async () => {
    const created = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(
        patient('Sum', {
          text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
          photo: [{ contentType: 'image/png' }],
        }),
      );
    const sum = await t.http().get(`/fhir/Patient/${created.body.id}?_summary=true`);
    expect(sum.body.name).toBeDefined();
    expect(sum.body.photo).toBeUndefined();
    expect(sum.body.text).toBeUndefined();
    expect(sum.body.meta.tag).toContainEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
      code: 'SUBSETTED',
    });
    const el = await t.http().get(`/fhir/Patient/${created.body.id}?_elements=photo`);
    expect(Object.keys(el.body).sort()).toEqual(['id', 'meta', 'photo', 'resourceType']);
  });
});
