import { describe, expect, it } from 'vitest';
import type { Bundle } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from '../support/server.js';
import { at, validate } from './support.js';

const MB = 1024 * 1024;

async function count(t: TestServer, type: string): Promise<number> {
  return Number(
    (await t.storage.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM history WHERE type = ?', [type]))?.n,
  );
}

/** Only FHIR R4's resource types are known: Medplum's own (Bot, Project …) are not, and a misspelling is named. */
describe.each(BACKENDS)('R4 resource types, on $name', (backend) => {
  const t = useServer(backend);
  const post = (path: string, body: object) => t.http().post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send(body);

  it('a Bundle entry of a Medplum or misspelt type: an error at its resourceType, the type meant', async () => {
    const issues = await validate(t, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Bot', name: 'x' } }, { resource: { resourceType: 'Pateint' } }],
    } as Bundle);
    expect(at(issues)).toEqual(['Bundle.entry[0].resource.resourceType', 'Bundle.entry[1].resource.resourceType']);
    const [bot, pateint] = issues.filter((i) => i.severity === 'error');
    expect(bot).toMatchObject({ code: 'not-supported' });
    expect(bot.diagnostics).toBe("Unknown resource type 'Bot': not a FHIR R4 resource");
    expect(pateint.diagnostics).toContain('did you mean Patient?');
  });

  it('$validate of a body whose resourceType is not R4: one error at resourceType', async () => {
    const res = await post('Patient/$validate', { resourceType: 'Pateint', name: [{ family: 'Dahl' }] });
    expect(res.status).toBe(200);
    expect(res.body.issue).toEqual([
      expect.objectContaining({ severity: 'error', code: 'not-supported', expression: ['resourceType'] }),
    ]);
    expect(res.body.issue[0].diagnostics).toContain('did you mean Patient?');
  });

  it('a contained Medplum resource is refused on write (422) as $validate reports it; nothing stored', async () => {
    const patient = {
      resourceType: 'Patient',
      id: 'with-bot',
      contained: [{ resourceType: 'ClientApplication', id: 'app' }],
      // referred to, so that dom-3 (a contained resource is referred to) holds and the type is the one fault
      managingOrganization: { reference: '#app' },
      name: [{ family: 'Dahl' }],
    };
    expect(at(await validate(t, patient))).toEqual(['Patient.contained[0].resourceType']);
    const res = await t.http().put('/fhir/Patient/with-bot').set('Content-Type', FHIR_JSON).send(patient);
    expect(res.status).toBe(422);
    expect(res.body.issue[0]).toMatchObject({
      code: 'not-supported',
      expression: ['Patient.contained[0].resourceType'],
    });
    expect((await t.http().get('/fhir/Patient/with-bot')).status).toBe(404);
  });

  it('a transaction entry of a Medplum type: $validate and the POST both refuse it at that entry', async () => {
    const body: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Bot', name: 'x' } as never, request: { method: 'POST', url: 'Bot' } }],
    };
    const before = await count(t, 'Bot');
    expect(at(await validate(t, body))).toContain('Bundle.entry[0].resource.resourceType');
    const res = await post('', body);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[0]']);
    expect((await post('Bot', { resourceType: 'Bot', name: 'x' })).status).toBe(404);
    expect(await count(t, 'Bot')).toBe(before);
  });

  it('Parameters is an R4 resource (without a REST endpoint): known in a Bundle', async () => {
    const issues = await validate(t, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y' }] } }],
    } as Bundle);
    expect(at(issues)).toEqual([]);
  });
});

/** R4 §2.24.0.1: strings SHOULD NOT exceed 1 MB; this server refuses longer ones on every write. */
describe.each(BACKENDS)('1 MB string limit, on $name', (backend) => {
  const t = useServer(backend);
  const named = (id: string, text: string) => ({ resourceType: 'Patient', id, name: [{ text }] });

  it('a name of 1 MB + 1 byte: 422 at Patient.name[0].text on every write; nothing stored', async () => {
    const before = await count(t, 'Patient');
    const long = 'a'.repeat(MB + 1);
    const created = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ text: long }] });
    expect(created.status).toBe(422);
    expect(created.body.issue).toEqual([
      expect.objectContaining({ severity: 'error', code: 'too-long', expression: ['Patient.name[0].text'] }),
    ]);
    expect(created.body.issue[0].diagnostics).toContain('1,048,577 bytes');
    const updated = await t.http().put('/fhir/Patient/long').set('Content-Type', FHIR_JSON).send(named('long', long));
    expect(updated.status).toBe(422);
    expect(updated.body.issue[0].expression).toEqual(['Patient.name[0].text']);
    const tx = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: named('long', long), request: { method: 'PUT', url: 'Patient/long' } }],
      });
    expect(tx.status).toBe(422);
    expect(tx.body.issue[0].expression).toEqual(['Bundle.entry[0].resource.name[0].text']);
    expect(await count(t, 'Patient')).toBe(before);
  });

  it('bytes, not characters: 524,289 × ø (2 bytes each) is over the limit', async () => {
    const res = await t
      .http()
      .put('/fhir/Patient/wide')
      .set('Content-Type', FHIR_JSON)
      .send(named('wide', 'ø'.repeat(MB / 2 + 1)));
    expect(res.status).toBe(422);
    expect(res.body.issue[0]).toMatchObject({ code: 'too-long', expression: ['Patient.name[0].text'] });
    expect((await t.http().get('/fhir/Patient/wide')).status).toBe(404);
  });

  it('exactly 1 MB is accepted and read back whole', async () => {
    const text = 'a'.repeat(MB);
    const res = await t.http().put('/fhir/Patient/one-mb').set('Content-Type', FHIR_JSON).send(named('one-mb', text));
    expect(res.status).toBe(201);
    const read = await t.http().get('/fhir/Patient/one-mb');
    expect(read.status).toBe(200);
    expect(read.body.name[0].text).toHaveLength(MB);
    // and it is found by a name search (the index keeps a prefix of it)
    const found = await t
      .http()
      .get('/fhir/Patient')
      .query({ name: 'a'.repeat(40) });
    expect(found.status).toBe(200);
    expect(found.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['one-mb']);
  });

  it('$validate reports it as an error; markdown and code are strings too', async () => {
    expect(at(await validate(t, named('v', 'a'.repeat(MB + 1))))).toEqual(['Patient.name[0].text']);
    const task = { resourceType: 'Task', status: 'requested', intent: 'order', note: [{ text: 'b'.repeat(MB + 1) }] };
    const issues = await validate(t, task);
    expect(at(issues)).toEqual(['Task.note[0].text']);
    expect(issues[0].code).toBe('too-long');
  });
});
