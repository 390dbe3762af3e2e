import type { CarePlan, DetectedIssue, Parameters, Task } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { update } from '../src/fhir/interactions/write.js';
import { previousMonth } from '../src/registry/period.js';
import { runScheduledReports } from '../src/registry/schedule.js';
import { BACKENDS } from './support/backends.js';
import { useSecondNode } from './support/second-node.js';
import { FHIR_JSON, useServer } from './support/server.js';
import { newPatient } from './pathways/support.js';
import { unitOrganization } from './registry/support.js';

/**
 * Two API nodes on one PostgreSQL (docs/scale-out.md): node A in this process, node B a `forlop serve`
 * of its own. What one node writes — search parameters, pathways, code systems, profiles — the other
 * uses at its next request; scheduled work run on both at the same moment is done once.
 */
const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
type Param = { name: string; valueBoolean?: boolean; valueInteger?: number };
const param = (body: Parameters, name: string) => (body.parameter as Param[] | undefined)?.find((p) => p.name === name);

describe('two API nodes on one PostgreSQL', () => {
  const a = useServer(postgres);
  const b = useSecondNode(a);
  const put = (node: 'a' | 'b', resource: { resourceType: string; id: string; [k: string]: unknown }) =>
    (node === 'a' ? a.http() : b.http())
      .put(`/fhir/${resource.resourceType}/${resource.id}`)
      .set('Content-Type', FHIR_JSON)
      .send(resource);

  it('a SearchParameter created, then changed, through A indexes and searches on B at its next request', async () => {
    const sp = {
      resourceType: 'SearchParameter',
      id: 'patient-mother-tongue',
      url: 'http://forlop.test/SearchParameter/patient-mother-tongue',
      name: 'PatientMotherTongue',
      status: 'active',
      description: 'The language a patient speaks',
      code: 'mother-tongue',
      base: ['Patient'],
      type: 'token',
      expression: 'Patient.communication.language',
    };
    expect((await put('a', sp)).status).toBe(201);
    const nb = {
      resourceType: 'Patient',
      id: 'mn-nb',
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'nb' }] } }],
    };
    expect((await put('b', nb)).status).toBe(201); // B indexes it by the new parameter
    // `handling=strict`: a parameter B did not know would be a 400, not silently ignored
    const onB = await b.http().get('/fhir/Patient?mother-tongue=nb').set('Prefer', 'handling=strict');
    expect(onB.status, JSON.stringify(onB.body)).toBe(200);
    expect(onB.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['mn-nb']);
    const onA = await a.http().get('/fhir/Patient?mother-tongue=urn:ietf:bcp:47|nb').set('Prefer', 'handling=strict');
    expect(onA.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['mn-nb']);

    expect((await put('a', { ...sp, expression: 'Patient.maritalStatus' })).status).toBe(200);
    const married = {
      resourceType: 'Patient',
      id: 'mn-married',
      maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
    };
    expect((await put('b', married)).status).toBe(201);
    const changed = await b.http().get('/fhir/Patient?mother-tongue=M').set('Prefer', 'handling=strict');
    expect(changed.status).toBe(200);
    expect(changed.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['mn-married']);
  });

  it('a PlanDefinition changed through A is what B applies', async () => {
    const plan = (await a.http().get('/fhir/PlanDefinition/pathway-D06')).body;
    expect(plan.resourceType).toBe('PlanDefinition'); // loaded by B at its start
    const title = `${plan.title} (endret på node A)`;
    expect((await put('a', { ...plan, title })).status).toBe(200);
    await put('b', unitOrganization('mn-unit', '98765432'));
    const subject = await newPatient(a);
    const applied = await b
      .http()
      .post('/fhir/PlanDefinition/pathway-D06/$apply')
      .query({ subject, start: today(), organization: 'Organization/mn-unit' });
    expect(applied.status, JSON.stringify(applied.body).slice(0, 800)).toBe(200);
    expect((applied.body as CarePlan).title).toBe(title);
  });

  it('a CodeSystem created, then changed, through A answers $validate-code and $expand on B', async () => {
    const url = 'http://forlop.test/CodeSystem/multi-node';
    const cs = {
      resourceType: 'CodeSystem',
      id: 'multi-node',
      url,
      version: '1',
      name: 'MultiNode',
      status: 'active',
      content: 'complete',
      concept: [{ code: 'a', display: 'A' }],
    };
    const vs = {
      resourceType: 'ValueSet',
      id: 'multi-node',
      url: 'http://forlop.test/ValueSet/multi-node',
      name: 'MultiNode',
      status: 'active',
      compose: { include: [{ system: url }] },
    };
    expect((await put('a', cs)).status).toBe(201);
    expect((await put('a', vs)).status).toBe(201);
    const validate = async (code: string) => {
      const res = await b.http().get('/fhir/CodeSystem/$validate-code').query({ url, code });
      expect(res.status).toBe(200);
      return param(res.body, 'result')?.valueBoolean;
    };
    const expand = async () => {
      const res = await b.http().get('/fhir/ValueSet/$expand').query({ url: vs.url });
      expect(res.status).toBe(200);
      return res.body.expansion.contains.map((c: { code: string }) => c.code).sort();
    };
    expect(await validate('a')).toBe(true);
    expect(await validate('b')).toBe(false); // B has now cached the first version
    expect(await expand()).toEqual(['a']);
    expect((await put('a', { ...cs, concept: [...cs.concept, { code: 'b', display: 'B' }] })).status).toBe(200);
    expect(await validate('b')).toBe(true);
    expect(await expand()).toEqual(['a', 'b']);
  });

  it('a profile (StructureDefinition) created, then changed, through A is what $validate on B checks', async () => {
    const profile = {
      resourceType: 'StructureDefinition',
      id: 'multi-node-patient',
      url: 'http://forlop.test/StructureDefinition/multi-node-patient',
      name: 'MultiNodePatient',
      status: 'active',
      kind: 'resource',
      abstract: false,
      type: 'Patient',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
      derivation: 'constraint',
      differential: { element: [{ id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 }] },
    };
    const errors = async () => {
      const res = await b
        .http()
        .post(`/fhir/Patient/$validate?profile=${encodeURIComponent(profile.url)}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient' });
      expect(res.status).toBe(200);
      return (res.body.issue as { severity: string; expression?: string[] }[])
        .filter((i) => i.severity === 'error')
        .map((i) => i.expression?.[0]);
    };
    const unknown = await errors(); // B looks the profile up before it exists
    expect(unknown).toEqual(['Patient']);
    expect((await put('a', profile)).status).toBe(201);
    expect(await errors()).toEqual(['Patient.birthDate']);
    const gender = { id: 'Patient.gender', path: 'Patient.gender', min: 1 };
    expect(
      (await put('a', { ...profile, differential: { element: [...profile.differential.element, gender] } })).status,
    ).toBe(200);
    expect((await errors()).sort()).toEqual(['Patient.birthDate', 'Patient.gender']);
  });

  // a generation is not the last sequence number (a write that took its number first may commit last):
  // it is the count of versions in type_versions, whose row the first write holds until it commits
  it('a CodeSystem change held open while another is written is seen by B once both commit', async () => {
    const url = 'http://forlop.test/CodeSystem/late-commit';
    const cs = {
      resourceType: 'CodeSystem',
      id: 'late-commit',
      url,
      version: '1',
      name: 'LateCommit',
      status: 'active',
      content: 'complete',
      concept: [{ code: 'a' }],
    };
    expect((await put('a', cs)).status).toBe(201);
    // a write through A that takes its history sequence number now and commits last
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let written!: () => void;
    const inside = new Promise<void>((resolve) => (written = resolve));
    const late = a.services.store.transaction(async (tx) => {
      await update(a.services, tx, 'CodeSystem', 'late-commit', { ...cs, concept: [{ code: 'a' }, { code: 'late' }] });
      written();
      await held;
    });
    await inside;
    // a later terminology write, with the higher sequence number, waits for the first to commit
    const other = put('a', { ...cs, id: 'other', url: `${url}-other`, concept: [{ code: 'other' }] }).then((r) => r);
    const validate = async (system: string, code: string) =>
      param((await b.http().get('/fhir/CodeSystem/$validate-code').query({ url: system, code })).body, 'result')
        ?.valueBoolean;
    expect(await validate(url, 'late')).toBe(false);
    commit();
    await late;
    expect((await other).status).toBe(201);
    expect(await validate(url, 'late')).toBe(true);
    expect(await validate(`${url}-other`, 'other')).toBe(true);
  });

  describe('scheduled work run on both nodes at the same moment is done once', () => {
    // pathways started in the month before this one (so they are in the registry's period), whose
    // first deadline has passed since: the evaluation finds them stale on both nodes
    const period = previousMonth(new Date());
    const start = `${period.start.slice(0, 8)}02`;
    const carePlans: CarePlan[] = [];

    it('the deadline evaluation: each breach one DetectedIssue, counted by one node', async () => {
      expect((await put('a', unitOrganization('mn-unit', '98765432'))).status).toBeLessThan(300);
      a.clock.set(new Date(`${start}T09:00:00Z`));
      for (let i = 0; i < 6; i++) {
        const res = await a
          .http()
          .post('/fhir/PlanDefinition/pathway-D06/$apply')
          .query({ subject: await newPatient(a), start, organization: 'Organization/mn-unit' });
        expect(res.status, JSON.stringify(res.body).slice(0, 800)).toBe(200);
        carePlans.push(res.body as CarePlan);
      }
      a.clock.set(new Date()); // the same today as node B's clock
      const evaluate = (node: 'a' | 'b') =>
        (node === 'a' ? a.http() : b.http())
          .post('/fhir/$evaluate-deadlines')
          .set('Content-Type', FHIR_JSON)
          .send({ resourceType: 'Parameters' });
      const runs = await Promise.all([evaluate('a'), evaluate('b'), evaluate('a'), evaluate('b')]);
      expect(runs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const counted = runs.reduce((n, r) => n + (param(r.body, 'breaches')?.valueInteger ?? 0), 0);
      let recorded = 0;
      for (const carePlan of carePlans) {
        const search = await a
          .http()
          .get('/fhir/DetectedIssue')
          .query({ implicated: `CarePlan/${carePlan.id}`, _count: 100 });
        const issues: DetectedIssue[] = (search.body.entry ?? []).map((e: { resource: DetectedIssue }) => e.resource);
        const taskSearch = await a
          .http()
          .get('/fhir/Task')
          .query({ 'based-on': `CarePlan/${carePlan.id}`, _count: 100 });
        const tasks: Task[] = taskSearch.body.entry.map((e: { resource: Task }) => e.resource);
        const breached = tasks
          .filter((t) => ['overdue', 'missed'].includes(t.businessStatus?.coding?.[0]?.code ?? ''))
          .map((t) => `Task/${t.id}`);
        expect(breached.length).toBeGreaterThanOrEqual(1); // the first attendance, due a week after the start
        // one DetectedIssue per breached milestone, never two
        const implicatedTasks = issues.flatMap((i) =>
          (i.implicated ?? []).map((r) => r.reference).filter((r) => r?.startsWith('Task/')),
        );
        expect(implicatedTasks.sort()).toEqual(breached.sort());
        recorded += issues.length;
      }
      expect(counted).toBe(recorded);
    });

    it('the registry report: the operation on A and B and the schedule on A at once store one report', async () => {
      const report = (node: 'a' | 'b') =>
        (node === 'a' ? a.http() : b.http())
          .post('/fhir/$registry-report')
          .set('Content-Type', FHIR_JSON)
          .send({
            resourceType: 'Parameters',
            parameter: [
              { name: 'period', valueString: period.label },
              { name: 'unit', valueString: 'Organization/mn-unit' },
            ],
          });
      const log: Record<string, unknown>[] = [];
      const [onA, onB, scheduled] = await Promise.all([
        report('a'),
        report('b'),
        runScheduledReports(a.services, (e) => log.push(e)),
      ]);
      expect([onA.status, onB.status], JSON.stringify(onB.body).slice(0, 800)).toEqual([200, 200]);
      expect(scheduled.map((r) => r.firstPage.id)).toEqual([`npr-mn-unit-${period.label}`]);
      const history = await a.http().get(`/fhir/Bundle/npr-mn-unit-${period.label}/_history`);
      expect(history.status).toBe(200);
      expect(history.body.total).toBe(1);
      const codes = history.body.entry[0].resource.entry.length;
      expect(codes).toBeGreaterThan(0);
      expect(log.filter((e) => e.msg === 'registry report failed')).toEqual([]);
    });
  });
});

/** Today in Oslo (as both nodes' clocks have it). */
function today(): string {
  return new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Oslo' });
}
