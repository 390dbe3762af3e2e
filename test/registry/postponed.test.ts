import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Parameters, Procedure } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { completeMilestone, usePathways } from '../pathways/support.js';
import { applyByPost, named, postReport, reportedCodes, reportPatient, unitAnswer } from './support.js';
import { unitOrganization } from './support.js';

const CS9327 = 'http://forlop.no/fhir/CodeSystem/volven-9327';
const FEEDBACK = 'urn:oid:2.16.578.1.12.4.1.1.9329';
const DECOMPOSITION = 'http://forlop.no/fhir/ConceptMap/pathway-code-decomposition';

/**
 * A recorded postponement (event L, «Pasientutsatt pakkeforløp») is reported as its combined code
 * DxxL, never refused as an unknown code (NPR 201): 9327 ships D01L (verified on the TSB page) and
 * D06L–D12L (inferred, marked so), from tools/data/volven-9327-postponed.csv.
 */
describe.each(BACKENDS)('a patient-postponed pathway in the registry report, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const subjects: Record<string, string> = {};
  const plans: Record<string, CarePlan> = {};
  const lookup = (code: string) => t.http().get('/fhir/CodeSystem/$lookup').query({ system: CS9327, code });
  /** A `$lookup` property's value, by its code. */
  const property = (body: Parameters, code: string) =>
    named(body, 'property')
      .map((p) => Object.fromEntries((p.part ?? []).map((x) => [x.name, x.valueCode ?? x.valueString])))
      .find((p) => p.code === code)?.value;

  beforeAll(async () => {
    const org = unitOrganization('utsatt-hf', '93216548');
    const stored = await t.http().put(`/fhir/Organization/${org.id}`).set('Content-Type', FHIR_JSON).send(org);
    expect(stored.status).toBe(201);
    t.clock.set(new Date('2026-10-01T09:00:00Z'));
    for (const code of ['D07', 'D01']) {
      subjects[code] = await reportPatient(t);
      const params = { subject: subjects[code], start: '2026-10-01', organization: 'Organization/utsatt-hf' };
      plans[code] = await applyByPost(t, code, params);
    }
    // D07: the patient asks to wait two weeks; D01: a postponement on one day (both recorded afterwards)
    t.clock.set(new Date('2026-10-20T09:00:00Z'));
    const d07 = await completeMilestone(t, plans.D07, 'patient-postponed', { start: '2026-10-05', end: '2026-10-19' });
    expect(d07.status, JSON.stringify(d07.body).slice(0, 1500)).toBe(200);
    const d01 = await completeMilestone(t, plans.D01, 'patient-postponed', '2026-10-07');
    expect(d01.status, JSON.stringify(d01.body).slice(0, 1500)).toBe(200);
  });

  it('the month’s report has D07L and D01L on the postponement’s date, and no problem', async () => {
    const unit = { name: 'unit', valueReference: { reference: 'Organization/utsatt-hf' } };
    const res = await postReport(t, [{ name: 'period', valueString: '2026-10' }, unit]);
    expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
    const { bundle, problems, changed } = unitAnswer(res.body);
    expect(changed).toBe(true);
    const codes = reportedCodes(bundle);
    expect(codes).toContainEqual({ subject: subjects.D07, code: 'D07L', when: '2026-10-19' });
    expect(codes).toContainEqual({ subject: subjects.D01, code: 'D01L', when: '2026-10-07' });
    expect(codes.map((c) => c.code).sort()).toEqual(['D01A', 'D01L', 'D07A', 'D07L']);
    // no 201 (nor any other problem): the report's OperationOutcome is informational only
    expect(problems.issue.map((i) => i.severity)).toEqual(['information']);
    expect(problems.issue.some((i) => i.details?.coding?.some((c) => c.system === FEEDBACK))).toBe(false);
    const procedures = (bundle.entry ?? []).map((e) => e.resource as Procedure);
    const postponed = procedures.find((r) => r.code?.coding?.[0].code === 'D07L');
    expect(postponed?.code?.coding).toEqual([
      { system: 'urn:oid:2.16.578.1.12.4.1.1.9327', code: 'D07L', display: 'Tvang pasientutsatt pakkeforløp' },
      { system: 'urn:oid:2.16.578.1.12.4.1.1.9321', code: 'D07' },
      { system: 'urn:oid:2.16.578.1.12.4.1.1.9322', code: 'L' },
    ]);
    // stored as reported, and valid against the report profile
    const stored = await t.http().get('/fhir/Bundle/npr-utsatt-hf-2026-10');
    expect(stored.status).toBe(200);
    expect(
      reportedCodes(stored.body as Bundle)
        .map((c) => c.code)
        .sort(),
    ).toEqual(['D01A', 'D01L', 'D07A', 'D07L']);
    const storedProblems = await t.http().get('/fhir/OperationOutcome/npr-utsatt-hf-2026-10-problems');
    expect(storedProblems.body.issue.map((i: { severity: string }) => i.severity)).toEqual(['information']);
    const validated = await t.http().post('/fhir/Bundle/$validate').set('Content-Type', FHIR_JSON).send(stored.body);
    expect(validated.status).toBe(200);
    expect(validated.body.issue.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
  });

  it('9327 marks each DxxL: D01L verified from the TSB page, the others inferred', async () => {
    const d01 = await lookup('D01L');
    expect(d01.status).toBe(200);
    expect(property(d01.body, 'verification')).toBe('verified');
    expect(property(d01.body, 'source')).toContain('helsedirektoratet.no/pakkeforlop/rusbehandling-tsb');
    for (const code of ['D06L', 'D07L', 'D08L', 'D09L', 'D10L', 'D11L', 'D12L']) {
      const res = await lookup(code);
      expect(res.status, code).toBe(200);
      expect(property(res.body, 'verification'), code).toBe('inferred');
      expect(property(res.body, 'event'), code).toBe('L');
    }
    // a code of the NHN list has no verification property
    expect(property((await lookup('D07A')).body, 'verification')).toBeUndefined();
  });

  it('the pathway’s code ValueSet and the decomposition ConceptMap pick the new codes up', async () => {
    const url = 'http://forlop.no/fhir/ValueSet/pathway-D07-codes';
    const expanded = await t.http().get('/fhir/ValueSet/$expand').query({ url, filter: 'pasientutsatt' });
    expect(expanded.status).toBe(200);
    expect(expanded.body.expansion.contains.map((c: { code: string }) => c.code)).toEqual(['D07L']);
    const query = { url: DECOMPOSITION, system: CS9327, code: 'D11L' };
    const translated = await t.http().get('/fhir/ConceptMap/$translate').query(query);
    expect(translated.status).toBe(200);
    expect(named(translated.body, 'result')[0].valueBoolean).toBe(true);
    const match = named(translated.body, 'match')[0];
    expect(named(match, 'concept')[0].valueCoding).toMatchObject({ code: 'D11' });
    expect(named(named(match, 'product')[0], 'concept')[0].valueCoding).toMatchObject({ code: 'L' });
  });
});
