import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan } from '@medplum/fhirtypes';
import { loadConformance } from '../../src/fhir/conformance-loader.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from '../support/server.js';
import { applyPathway, completeMilestone, newPatient, usePathways } from '../pathways/support.js';

const REASON = 'urn:oid:2.16.578.1.12.4.1.1.9326';

const refs = (b: Bundle) =>
  (b.entry ?? []).filter((e) => e.resource?.id).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);

const observation = (id: string, patient: string, effective: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'Puls' },
  subject: { reference: patient },
  effectiveDateTime: effective,
  performer: [{ reference: 'Practitioner/lege-a' }],
});

async function put(t: TestServer, resource: { resourceType: string; id: string }) {
  const res = await t
    .http()
    .put(`/fhir/${resource.resourceType}/${resource.id}`)
    .set('Content-Type', FHIR_JSON)
    .send(resource);
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

/** Every page of an $everything, following the next links; `between` runs after the first page. */
async function allPages(t: TestServer, url: string, between?: () => Promise<void>): Promise<Bundle[]> {
  const pages: Bundle[] = [];
  let next: string | undefined = url;
  while (next) {
    const res = await t.http().get(next.replace('http://forlop.test', ''));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.push(res.body as Bundle);
    if (pages.length === 1 && between) await between();
    next = (res.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
    expect(pages.length).toBeLessThan(100);
  }
  return pages;
}

/**
 * The oracle: what the compartment searches (`GET Patient/[id]/[type]`, one type at a time) find,
 * plus the shared resources the test put there on purpose.
 */
async function compartmentOf(t: TestServer, patient: string): Promise<string[]> {
  const types = [...(t.services.defs.compartments.get('Patient')?.members.keys() ?? [])].filter((x) => x !== 'Patient');
  const found = await Promise.all(
    types.map(async (type) => {
      const res = await t.http().get(`/fhir/${patient}/${type}`).query({ _count: 1000 });
      expect(res.status, `${type}: ${JSON.stringify(res.body)}`).toBe(200);
      return refs(res.body as Bundle);
    }),
  );
  return [patient, ...found.flat()];
}

describe.each(BACKENDS)('Patient everything, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  let anna = '';
  let bjorn = '';
  let plans: CarePlan[] = [];

  beforeAll(async () => {
    await put(t, { resourceType: 'Practitioner', id: 'lege-a', name: [{ family: 'Lege' }] } as never);
    anna = await newPatient(t);
    bjorn = await newPatient(t);
    const first = (await applyPathway(t, 'D11', { subject: anna, start: '2026-03-02' })).body as CarePlan;
    const ended = await completeMilestone(t, first, 'end', '2026-03-20', {
      output: [{ type: { text: 'Årsak' }, valueCodeableConcept: { coding: [{ system: REASON, code: 'G' }] } }],
    });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    const second = await applyPathway(t, 'D01', { subject: anna, start: '2026-09-01' });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    plans = [first, second.body as CarePlan];
    expect((await applyPathway(t, 'D11', { subject: bjorn, start: '2026-03-02' })).status).toBe(200);
    await put(t, observation('obs-in', anna, '2026-05-05') as never);
    await put(t, observation('obs-old', anna, '2025-01-01') as never);
    await put(t, observation('obs-bjorn', bjorn, '2026-05-05') as never);
    // Provenance of one of Anna's resources: not in her compartment by itself (its target is an Observation)
    await put(t, {
      resourceType: 'Provenance',
      id: 'prov-a',
      target: [{ reference: 'Observation/obs-in' }],
      recorded: '2026-05-05T10:00:00Z',
      agent: [{ who: { reference: 'Practitioner/lege-a' } }],
    } as never);
  });

  it('gives the compartment, the Patient first and the referenced shared resources once each', async () => {
    const res = await t.http().get(`/fhir/${anna}/$everything`).query({ _count: 1000 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as Bundle;
    expect(body.type).toBe('searchset');
    const got = refs(body);
    expect(got[0]).toBe(anna);
    expect(new Set(got).size).toBe(got.length);
    const shared = [
      'Practitioner/lege-a',
      'Organization/test-unit',
      'PlanDefinition/pathway-D11',
      'PlanDefinition/pathway-D01',
      'Provenance/prov-a',
    ];
    const expected = [...new Set([...(await compartmentOf(t, anna)), ...shared])];
    expect([...got].sort()).toEqual(expected.sort());
    expect(body.total).toBe(got.length);
    expect(got).toEqual(expect.arrayContaining([`CarePlan/${plans[0].id}`, `CarePlan/${plans[1].id}`]));
    expect(got).not.toContain(bjorn);
    expect(got).not.toContain('Observation/obs-bjorn');
    expect(JSON.stringify(body)).not.toContain(bjorn);
    const modes = Object.fromEntries(
      (body.entry ?? []).map((e) => [`${e.resource?.resourceType}/${e.resource?.id}`, e.search?.mode]),
    );
    expect(modes).toMatchObject({
      [anna]: 'match',
      'Observation/obs-in': 'match',
      'Organization/test-unit': 'include',
    });
  });

  it('keeps to the types _type names', async () => {
    const res = await t.http().get(`/fhir/${anna}/$everything`).query({ _type: 'Patient,CarePlan', _count: 1000 });
    expect(res.status).toBe(200);
    expect(refs(res.body as Bundle).sort()).toEqual(
      [anna, `CarePlan/${plans[0].id}`, `CarePlan/${plans[1].id}`].sort(),
    );
    const bad = await t.http().get(`/fhir/${anna}/$everything`).query({ _type: 'Patient,Nothing' });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['_type']);
  });

  it('takes the same parameters in a Parameters body by POST', async () => {
    const res = await t
      .http()
      .post(`/fhir/${anna}/$everything`)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueCode: 'CarePlan' },
          { name: '_count', valueInteger: 1 },
        ],
      });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as Bundle;
    expect(refs(body)).toEqual([`CarePlan/${plans[0].id}`]);
    expect(body.total).toBe(2);
    expect(body.link?.find((l) => l.relation === 'next')?.url).toContain('_type=CarePlan');
  });

  it('keeps resources updated since _since', async () => {
    const before = t.clock.now();
    t.clock.set(new Date(before.getTime() + 60_000));
    const since = t.clock.now().toISOString();
    await put(t, { ...observation('obs-in', anna, '2026-05-05'), status: 'amended' } as never);
    const res = await t.http().get(`/fhir/${anna}/$everything`).query({ _since: since });
    expect(res.status).toBe(200);
    expect(refs(res.body as Bundle)).toEqual(['Observation/obs-in']);
  });

  it('keeps resources whose care date is in start..end, and those without one', async () => {
    const res = await t
      .http()
      .get(`/fhir/${anna}/$everything`)
      .query({ start: '2026-01-01', end: '2026-12-31', _count: 1000 });
    expect(res.status).toBe(200);
    const got = refs(res.body as Bundle);
    expect(got).toEqual(expect.arrayContaining([anna, 'Observation/obs-in', 'Organization/test-unit']));
    expect(got).not.toContain('Observation/obs-old');
    const early = await t.http().get(`/fhir/${anna}/$everything`).query({ end: '2025-06-30', _count: 1000 });
    const old = refs(early.body as Bundle);
    expect(old).toContain('Observation/obs-old');
    expect(old).not.toContain('Observation/obs-in');
  });

  it('pages with next links over one snapshot: each resource once, a write between pages changes nothing', async () => {
    const whole = refs((await t.http().get(`/fhir/${anna}/$everything`).query({ _count: 1000 })).body as Bundle);
    const pages = await allPages(t, `/fhir/${anna}/$everything?_count=7`, async () => {
      await put(t, observation('obs-late', anna, '2026-05-06') as never);
      // an update keeps its place: still once, on its page
      await put(t, { ...observation('obs-old', anna, '2025-01-01'), status: 'amended' } as never);
      await put(t, { resourceType: 'Patient', id: 'a-new-first', name: [{ family: 'Ny' }] } as never);
    });
    expect(whole.length).toBeGreaterThan(14);
    expect(pages.length).toBe(Math.ceil(whole.length / 7));
    const paged = pages.flatMap(refs);
    expect(paged).toEqual(whole);
    expect(pages.every((p) => p.total === whole.length)).toBe(true);
    const after = refs((await t.http().get(`/fhir/${anna}/$everything`).query({ _count: 1000 })).body as Bundle);
    expect(after).toContain('Observation/obs-late');
  });

  it('at type level covers every patient', async () => {
    const res = await t.http().get('/fhir/Patient/$everything').query({ _type: 'Patient,Observation', _count: 1000 });
    expect(res.status).toBe(200);
    expect(refs(res.body as Bundle)).toEqual(
      expect.arrayContaining([anna, bjorn, 'Observation/obs-in', 'Observation/obs-bjorn']),
    );
  });

  it('is in the CapabilityStatement under Patient, and its OperationDefinition is served', async () => {
    const url = 'http://forlop.no/fhir/OperationDefinition/Patient-everything';
    const cap = await t.http().get('/fhir/metadata');
    const patient = cap.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.operation).toContainEqual({ name: 'everything', definition: url });
    // stored at start-up by the server's definitions step (src/server.ts), which useServer leaves out
    await loadConformance(t.services);
    const def = await t.http().get('/fhir/OperationDefinition').query({ url });
    expect(def.status).toBe(200);
    expect(def.body.entry[0].resource).toMatchObject({ code: 'everything', type: true, instance: true });
  });

  it('refuses unknown parameters unless lenient, bad dates and counts, naming the parameter', async () => {
    const unknown = await t.http().get(`/fhir/${anna}/$everything`).query({ color: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
    expect(unknown.body.issue[0].expression).toEqual(['color']);
    const lenient = await t
      .http()
      .get(`/fhir/${anna}/$everything`)
      .set('Prefer', 'handling=lenient')
      .query({ color: 'blue' });
    expect(lenient.status).toBe(200);
    expect((lenient.body as Bundle).entry?.at(-1)?.search?.mode).toBe('outcome');
    for (const [name, value] of [
      ['start', '2026-13-45'],
      ['end', 'tomorrow'],
      ['_since', '2026-02-30'],
      ['_count', '-1'],
    ]) {
      const res = await t
        .http()
        .get(`/fhir/${anna}/$everything`)
        .query({ [name]: value });
      expect(res.status, `${name}=${value}`).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].expression).toEqual([name]);
    }
    const unknownPatient = await t.http().get('/fhir/Patient/nobody/$everything');
    expect(unknownPatient.status).toBe(404);
  });
});
