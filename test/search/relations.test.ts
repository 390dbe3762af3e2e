import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON, useFixtures, useServer } from '../support/server.js';

const FIXTURES = [
  {
    resourceType: 'Organization',
    id: 'org-vest',
    name: 'Helse Vest',
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '983658725' }],
  },
  { resourceType: 'Organization', id: 'org-nord', name: 'Helse Nord', partOf: { reference: 'Organization/org-vest' } },
  {
    resourceType: 'Patient',
    id: 'pa-1',
    name: [{ family: 'Haugen' }],
    managingOrganization: { reference: 'Organization/org-vest' },
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '01017012343' }],
  },
  {
    resourceType: 'Patient',
    id: 'pa-2',
    name: [{ family: 'Lunde' }],
    managingOrganization: { reference: 'Organization/org-nord' },
  },
  { resourceType: 'Patient', id: 'pa-3', name: [{ family: 'Berg' }] },
  { resourceType: 'CarePlan', id: 'cp-1', status: 'active', intent: 'plan', subject: { reference: 'Patient/pa-1' } },
  { resourceType: 'CarePlan', id: 'cp-2', status: 'active', intent: 'plan', subject: { reference: 'Patient/pa-2' } },
  {
    resourceType: 'Task',
    id: 'task-1',
    status: 'requested',
    intent: 'order',
    basedOn: [{ reference: 'CarePlan/cp-1' }],
    for: { reference: 'Patient/pa-1' },
    businessStatus: { coding: [{ system: 'http://forlop.no/fhir/CodeSystem/deadline-status', code: 'overdue' }] },
  },
  {
    resourceType: 'Task',
    id: 'task-2',
    status: 'completed',
    intent: 'order',
    basedOn: [{ reference: 'CarePlan/cp-2' }],
    for: { reference: 'Patient/pa-2' },
    businessStatus: { coding: [{ system: 'http://forlop.no/fhir/CodeSystem/deadline-status', code: 'met' }] },
  },
  {
    resourceType: 'Observation',
    id: 'obs-1',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: 'Patient/pa-1' },
    performer: [{ reference: 'Organization/org-vest' }],
  },
  {
    resourceType: 'Provenance',
    id: 'prov-1',
    target: [{ reference: 'CarePlan/cp-1' }],
    recorded: '2026-10-01T08:00:00Z',
    agent: [{ who: { reference: 'Organization/org-vest' } }],
  },
];

type Entry = { resource: { resourceType: string; id: string }; search: { mode: string } };
const ids = (body: { entry?: Entry[] }, mode = 'match') =>
  (body.entry ?? [])
    .filter((e) => e.search.mode === mode)
    .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
    .sort();

describe.each(BACKENDS)('chains, _has, includes and compartments on $name', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => FIXTURES);
  const get = (q: string) => t.http().get(`/fhir/${q}`);

  it.each([
    ['CarePlan?subject:Patient.name=haugen', ['CarePlan/cp-1']],
    ['CarePlan?subject.name=lunde', ['CarePlan/cp-2']],
    ['CarePlan?subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|01017012343', ['CarePlan/cp-1']],
    // two levels: the care plan's patient's managing organization's name
    ['CarePlan?subject:Patient.organization.name=helse nord', ['CarePlan/cp-2']],
    ['Task?based-on:CarePlan.subject:Patient.organization:Organization.partof=Organization/org-vest', ['Task/task-2']],
    ['Patient?_has:Task:patient:business-status=overdue', ['Patient/pa-1']],
    ['Patient?_has:CarePlan:subject:status=active', ['Patient/pa-1', 'Patient/pa-2']],
    // nested _has: organizations managing a patient who has an overdue task
    ['Organization?_has:Patient:organization:_has:Task:patient:business-status=overdue', ['Organization/org-vest']],
    ['Patient?_has:Task:patient:business-status=overdue&name=lunde', []],
  ])('%s', async (query, expected) => {
    const res = await get(query);
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual(expected);
    expect(res.body.total).toBe(expected.length);
  });

  it('refuses malformed chains and _has', async () => {
    for (const q of [
      'CarePlan?subject.nonsense=1',
      'CarePlan?status.name=x',
      'CarePlan?subject:Observation.code=x',
      'Patient?_has:Task:nonsense:status=x',
      'Patient?_has:Task',
      'Patient?_has:Nope:patient:status=x',
    ]) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      expect(res.body.issue[0].expression[0], q).toBe(decodeURIComponent(q.split('?')[1].split('=')[0]));
    }
  });

  it('_include adds the referenced resources, marked include, once', async () => {
    const res = await get('CarePlan?_include=CarePlan:subject&_sort=_id');
    expect(ids(res.body)).toEqual(['CarePlan/cp-1', 'CarePlan/cp-2']);
    expect(ids(res.body, 'include')).toEqual(['Patient/pa-1', 'Patient/pa-2']);
    expect(res.body.total).toBe(2);
    const self = res.body.link.find((l: { relation: string }) => l.relation === 'self').url;
    expect(self).toBe(`${BASE}/CarePlan?_include=CarePlan:subject&_sort=_id&_count=20`);
    const typed = await get('Observation?_include=Observation:performer:Organization');
    expect(ids(typed.body, 'include')).toEqual(['Organization/org-vest']);
  });

  it('_include:iterate follows what was included', async () => {
    const once = await get('Task?_id=task-2&_include=Task:based-on&_include=CarePlan:subject');
    expect(ids(once.body, 'include')).toEqual(['CarePlan/cp-2']);
    const iterated = await get(
      'Task?_id=task-2&_include=Task:based-on&_include:iterate=CarePlan:subject&_include:iterate=Patient:organization',
    );
    expect(ids(iterated.body, 'include')).toEqual(['CarePlan/cp-2', 'Organization/org-nord', 'Patient/pa-2']);
  });

  it('_revinclude adds the resources that refer to the matches', async () => {
    const res = await get('CarePlan?_id=cp-1&_revinclude=Provenance:target&_revinclude=Task:based-on');
    expect(ids(res.body)).toEqual(['CarePlan/cp-1']);
    expect(ids(res.body, 'include')).toEqual(['Provenance/prov-1', 'Task/task-1']);
    const star = await get('Patient?_id=pa-1&_revinclude=Task:*');
    expect(ids(star.body, 'include')).toEqual(['Task/task-1']);
    expect((await get('CarePlan?_revinclude=Provenance:nonsense')).status).toBe(400);
    expect((await get('CarePlan?_include=Nope:subject')).status).toBe(400);
  });

  it('compartment search: Patient/[id]/[type]', async () => {
    const cp = await get('Patient/pa-1/CarePlan');
    expect(cp.status).toBe(200);
    expect(ids(cp.body)).toEqual(['CarePlan/cp-1']);
    expect(ids((await get('Patient/pa-1/Task')).body)).toEqual(['Task/task-1']);
    expect(ids((await get('Patient/pa-1/Task?status=completed')).body)).toEqual([]);
    expect(ids((await get('Patient/pa-2/Observation')).body)).toEqual([]);
    expect((await get('Patient/pa-1/Organization')).status).toBe(404);
    const cs = (await get('metadata')).body;
    expect(cs.rest[0].compartment).toEqual(['http://hl7.org/fhir/CompartmentDefinition/patient']);
  });

  it('paging stays correct while resources are added between pages', async () => {
    for (let i = 0; i < 5; i++) {
      await t
        .http()
        .put(`/fhir/Basic/page-${i}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Basic', id: `page-${i}`, code: { text: 'paging' } });
    }
    const first = await get('Basic?_count=2&_sort=-_lastUpdated');
    const seen = first.body.entry.map((e: Entry) => e.resource.id);
    let next = first.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
    let added = 0;
    while (next) {
      // a new resource that sorts first would shift every later page without the snapshot
      t.clock.advance(1000);
      await t
        .http()
        .put(`/fhir/Basic/late-${added}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Basic', id: `late-${added++}`, code: { text: 'paging' } });
      const page = await t.http().get(next.replace(BASE, '/fhir'));
      seen.push(...page.body.entry.map((e: Entry) => e.resource.id));
      next = page.body.link.find((l: { relation: string }) => l.relation === 'next')?.url;
    }
    expect(seen.sort()).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(added).toBe(2);
  });
});
