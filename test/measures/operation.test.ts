import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROFILES_DIR } from '../../src/fhir/definitions.js';
import type { Measure, MeasureReport, OperationOutcome } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';
import { expectValid } from '../validation/support.js';
import { evaluate, figures, journey, putUnits, reportOf, useMeasures } from './support.js';

const MEASURE = 'assessment-within-pathway-time';
const URL = `http://forlop.no/fhir/Measure/${MEASURE}`;
const T1 = { periodStart: '2026-01', periodEnd: '2026-04' };

/** The refusal of a request: its status, and its one issue's code and expression. */
function refused(res: { status: number; body: OperationOutcome }, status: number, code: string, expression: string[]) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue?.[0]).toMatchObject({ severity: 'error', code, expression });
}

/** `$evaluate-measure`'s parameters, refusals, storing, validity and search (R4 §15.12.4.1). */
describe.each(BACKENDS)('evaluate-measure as an operation, on $name', (backend) => {
  const t = useServer(backend);
  useMeasures(t);
  const post = (path: string, parameter: object[], prefer?: string) => {
    const req = t.http().post(`/fhir/${path}`).set('Content-Type', FHIR_JSON);
    return (prefer ? req.set('Prefer', prefer) : req).send({ resourceType: 'Parameters', parameter });
  };
  const putMeasure = (m: Measure) => t.http().put(`/fhir/Measure/${m.id}`).set('Content-Type', FHIR_JSON).send(m);
  const shipped = async () => (await t.http().get(`/fhir/Measure/${MEASURE}`)).body as Measure;
  beforeAll(async () => {
    await putUnits(t, ['unit-x'], ['coord-x']);
    const x = { unit: 'unit-x', practitioner: 'coord-x' };
    // C on 02-10 (due 02-16, within) and on 03-01 (late): 1 of 2
    await journey(t, 'D11', { ...x, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-10'],
      ['clinical-decision', '2026-02-10'],
    ]);
    await journey(t, 'D11', { ...x, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-20'],
      ['clinical-decision', '2026-03-01'],
    ]);
  });

  it('the CapabilityStatement lists the operation on Measure, with our OperationDefinition', async () => {
    const metadata = await t.http().get('/fhir/metadata');
    const measure = metadata.body.rest[0].resource.find((r: { type: string }) => r.type === 'Measure');
    expect(measure.operation).toContainEqual({
      name: 'evaluate-measure',
      definition: 'http://forlop.no/fhir/OperationDefinition/Measure-evaluate-measure',
    });
  });

  it('our OperationDefinition and extension definitions are valid R4', async () => {
    for (const file of [
      'OperationDefinition-Measure-evaluate-measure',
      'StructureDefinition-measure-target',
      'StructureDefinition-definition-evidence',
    ]) {
      const resource = JSON.parse(readFileSync(join(PROFILES_DIR, `${file}.json`), 'utf8'));
      const res = await t
        .http()
        .post(`/fhir/${resource.resourceType}/$validate`)
        .set('Content-Type', FHIR_JSON)
        .send(resource);
      expect(res.status).toBe(200);
      expectValid(res.body.issue);
    }
  });

  it('periodStart and periodEnd are required; a bad date or a start after the end is a 400', async () => {
    refused(await evaluate(t, MEASURE, { periodEnd: '2026' }), 400, 'required', ['periodStart']);
    refused(await evaluate(t, MEASURE, { periodStart: '2026' }), 400, 'required', ['periodEnd']);
    refused(await evaluate(t, MEASURE, { periodStart: '2026-13', periodEnd: '2026' }), 400, 'invalid', ['periodStart']);
    refused(await evaluate(t, MEASURE, { periodStart: '2026', periodEnd: '2026-02-30' }), 400, 'invalid', [
      'periodEnd',
    ]);
    refused(await evaluate(t, MEASURE, { periodStart: '2026-05', periodEnd: '2026-04' }), 400, 'invalid', [
      'periodStart',
    ]);
    refused(
      await post(`Measure/${MEASURE}/$evaluate-measure`, [
        { name: 'periodStart', valueDate: '2026-01-01' },
        { name: 'periodStart', valueDate: '2026-02-01' },
        { name: 'periodEnd', valueDate: '2026-04-30' },
      ]),
      400,
      'invalid',
      ['periodStart'],
    );
  });

  it('a bare month or year means its whole span; a date is taken as it is', async () => {
    expect((await reportOf(t, MEASURE, { periodStart: '2026-02', periodEnd: '2026-02' })).period).toEqual({
      start: '2026-02-01',
      end: '2026-02-28',
    });
    expect((await reportOf(t, MEASURE, { periodStart: '2024-02', periodEnd: '2024-02' })).period).toEqual({
      start: '2024-02-01',
      end: '2024-02-29',
    });
    const exact = await reportOf(t, MEASURE, { periodStart: '2026-02-10', periodEnd: '2026-02-10' });
    expect(exact.period).toEqual({ start: '2026-02-10', end: '2026-02-10' });
    expect(figures(exact.group?.[0] ?? {})).toMatchObject({ 'initial-population': 1, numerator: 1, score: 1 });
  });

  it('unknown parameters are a 400 naming them, unless Prefer: handling=lenient', async () => {
    refused(await evaluate(t, MEASURE, { ...T1, patient: 'Patient/x', _count: '3' }), 400, 'not-supported', [
      'patient',
      '_count',
    ]);
    const lenient = await t
      .http()
      .get(`/fhir/Measure/${MEASURE}/$evaluate-measure`)
      .query({ ...T1, patient: 'Patient/x' })
      .set('Prefer', 'handling=lenient');
    expect(lenient.status).toBe(200);
    expect(figures(lenient.body.group[0])).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
  });

  it('reportType, subject and practitioner are checked: 400 when malformed, 404 when unknown', async () => {
    refused(await evaluate(t, MEASURE, { ...T1, reportType: 'everything' }), 400, 'invalid', ['reportType']);
    refused(await evaluate(t, MEASURE, { ...T1, reportType: 'subject' }), 400, 'invalid', ['reportType']);
    refused(
      await evaluate(t, MEASURE, { ...T1, reportType: 'subject', subject: 'Organization/unit-x' }),
      400,
      'invalid',
      ['reportType'],
    );
    refused(await evaluate(t, MEASURE, { ...T1, subject: 'Group/g1' }), 400, 'invalid', ['subject']);
    refused(await evaluate(t, MEASURE, { ...T1, subject: 'Patient/nobody' }), 404, 'not-found', ['subject']);
    refused(await evaluate(t, MEASURE, { ...T1, subject: 'Organization/nowhere' }), 404, 'not-found', ['subject']);
    refused(await evaluate(t, MEASURE, { ...T1, practitioner: 'Practitioner/nobody' }), 404, 'not-found', [
      'practitioner',
    ]);
    refused(await evaluate(t, MEASURE, { ...T1, practitioner: 'Patient/p' }), 400, 'invalid', ['practitioner']);
    refused(await evaluate(t, MEASURE, { ...T1, lastReceivedOn: '2026-03-01' }), 400, 'invalid', ['lastReceivedOn']);
  });

  it('at type level the measure is named by canonical url, url|version or Measure/[id]', async () => {
    for (const measure of [URL, `${URL}|2026.1`, `Measure/${MEASURE}`]) {
      const res = await t
        .http()
        .get('/fhir/Measure/$evaluate-measure')
        .query({ ...T1, measure });
      expect(res.status, measure).toBe(200);
      expect(figures(res.body.group[0])).toMatchObject({ 'initial-population': 2, score: 0.5 });
    }
    refused(await t.http().get('/fhir/Measure/$evaluate-measure').query(T1), 400, 'required', ['measure']);
    refused(
      await t
        .http()
        .get('/fhir/Measure/$evaluate-measure')
        .query({ ...T1, measure: `${URL}|9.9` }),
      404,
      'not-found',
      ['measure'],
    );
    refused(
      await t
        .http()
        .get('/fhir/Measure/$evaluate-measure')
        .query({ ...T1, measure: 'no such' }),
      400,
      'invalid',
      ['measure'],
    );
    refused(await evaluate(t, MEASURE, { ...T1, measure: URL }), 400, 'invalid', ['measure']);
    const unknown = await evaluate(t, 'nonesuch', T1);
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
  });

  it('CQL is a 422 at its language; FHIRPath that does not parse or is not boolean, at its expression', async () => {
    const base = await shipped();
    const withCriterion = (id: string, language: string, expression: string): Measure => ({
      ...base,
      id,
      url: `${BASE}/Measure/${id}`,
      group: [
        {
          ...base.group?.[0],
          population: base.group?.[0]?.population?.map((p, j) =>
            j === 1 ? { ...p, criteria: { language: language as 'text/cql', expression } } : p,
          ),
        },
      ],
    });
    expect((await putMeasure(withCriterion('in-cql', 'text/cql', 'Denominator'))).status).toBe(201);
    refused(await evaluate(t, 'in-cql', T1), 422, 'not-supported', [
      'Measure.group[0].population[1].criteria.language',
    ]);
    expect((await putMeasure(withCriterion('bad-fhirpath', 'text/fhirpath', "%tasks.where(code = 'C'"))).status).toBe(
      201,
    );
    refused(await evaluate(t, 'bad-fhirpath', T1), 422, 'invalid', [
      'Measure.group[0].population[1].criteria.expression',
    ]);
    expect((await putMeasure(withCriterion('not-boolean', 'text/fhirpath', '%tasks.id'))).status).toBe(201);
    const notBoolean = await evaluate(t, 'not-boolean', T1);
    refused(notBoolean, 422, 'processing', ['Measure.group[0].population[1].criteria.expression']);
    expect(notBoolean.body.issue[0].diagnostics).toMatch(/on CarePlan\/.+, not a boolean/);
    const patientBased = {
      ...base,
      id: 'patient-based',
      url: `${BASE}/Measure/patient-based`,
      extension: base.extension?.filter((e) => !e.url.endsWith('populationBasis')),
    };
    expect((await putMeasure(patientBased)).status).toBe(201);
    refused(await evaluate(t, 'patient-based', T1), 422, 'required', ['Measure.extension']);
  });

  it('GET stores nothing; POST stores the report (201, Location) and it reads back', async () => {
    const count = async () =>
      (await t.http().get('/fhir/MeasureReport').query({ _summary: 'count' })).body.total as number;
    const before = await count();
    await reportOf(t, MEASURE, T1);
    expect(await count()).toBe(before);
    const res = await post(`Measure/${MEASURE}/$evaluate-measure`, [
      { name: 'periodStart', valueDate: '2026-01-01' },
      { name: 'periodEnd', valueDate: '2026-04-30' },
      { name: 'subject', valueString: 'Organization/unit-x' },
    ]);
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(201);
    expect(res.headers.location).toBe(`${BASE}/MeasureReport/${res.body.id}/_history/1`);
    expect(await count()).toBe(before + 1);
    const stored = await t.http().get(`/fhir/MeasureReport/${res.body.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body.group).toEqual(res.body.group);
    expect(figures(stored.body.group[0])).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
  });

  it('reports are valid R4 (mrp-1, mrp-2 by $validate); a stratum with value and components is not', async () => {
    for (const reportType of ['population', 'subject-list']) {
      const report = await reportOf(t, MEASURE, { ...T1, reportType });
      const res = await t.http().post('/fhir/MeasureReport/$validate').set('Content-Type', FHIR_JSON).send(report);
      expect(res.status).toBe(200);
      expectValid(res.body.issue);
    }
    const report = await reportOf(t, MEASURE, T1);
    const stratum = report.group?.[0]?.stratifier?.[0]?.stratum?.[0];
    if (stratum) stratum.component = [{ code: { text: 'unit' }, value: { text: 'x' } }];
    const bad = await t.http().post('/fhir/MeasureReport/$validate').set('Content-Type', FHIR_JSON).send(report);
    expect(
      bad.body.issue.some(
        (i: { severity: string; diagnostics?: string }) => i.severity === 'error' && /mrp-2/.test(i.diagnostics ?? ''),
      ),
    ).toBe(true);
    const collecting = { ...(await reportOf(t, MEASURE, T1)), type: 'data-collection' };
    const mrp1 = await t.http().post('/fhir/MeasureReport/$validate').set('Content-Type', FHIR_JSON).send(collecting);
    expect(
      mrp1.body.issue.some(
        (i: { severity: string; diagnostics?: string }) => i.severity === 'error' && /mrp-1/.test(i.diagnostics ?? ''),
      ),
    ).toBe(true);
  });

  it('stored reports are found by measure, period, subject and reporter', async () => {
    const store = (parameter: object[]) =>
      post(`Measure/${MEASURE}/$evaluate-measure`, [
        { name: 'periodStart', valueString: '2025' },
        { name: 'periodEnd', valueString: '2025' },
        ...parameter,
      ]);
    const unit = await store([{ name: 'subject', valueReference: { reference: 'Organization/unit-x' } }]);
    const coordinator = await store([{ name: 'practitioner', valueString: 'Practitioner/coord-x' }]);
    expect([unit.status, coordinator.status]).toEqual([201, 201]);
    const ids = async (query: Record<string, string>) =>
      ((await t.http().get('/fhir/MeasureReport').query(query)).body.entry ?? [])
        .map((e: { resource: MeasureReport }) => e.resource.id)
        .sort();
    // a period search value holds the reports whose period it contains (R4 §3.1.1.4.2.1, eq on ranges)
    expect(await ids({ reporter: 'Organization/unit-x', period: '2025' })).toEqual([unit.body.id]);
    expect(await ids({ subject: 'Practitioner/coord-x' })).toEqual([coordinator.body.id]);
    expect(await ids({ measure: URL, period: '2025' })).toEqual([unit.body.id, coordinator.body.id].sort());
    expect(await ids({ measure: `${URL}|2026.1`, period: '2025' })).toEqual([unit.body.id, coordinator.body.id].sort());
    expect(await ids({ measure: `${URL}|2026.1`, period: '2024' })).toEqual([]);
  });

  it('re-running on unchanged data gives identical groups', async () => {
    const a = await reportOf(t, MEASURE, { ...T1, reportType: 'subject-list' });
    t.clock.advance(60_000);
    const b = await reportOf(t, MEASURE, { ...T1, reportType: 'subject-list' });
    expect(b.date).not.toBe(a.date);
    expect(b.group).toEqual(a.group);
    expect(b.contained).toEqual(a.contained);
  });

  it('a criterion changed in the stored Measure changes the figure, with no code change', async () => {
    const before = await reportOf(t, MEASURE, T1);
    expect(figures(before.group?.[0] ?? {})).toMatchObject({ numerator: 1, score: 0.5 });
    const measure = await shipped();
    // a unit that holds itself to a week's margin: done 7 days or more before the due date
    const numerator = measure.group?.[0]?.population?.find((p) => p.code?.coding?.[0]?.code === 'numerator');
    if (numerator?.criteria)
      numerator.criteria.expression = '%due.where(%eventDate.calendarDaysUntil($this) >= 7).exists()';
    expect((await putMeasure(measure)).status).toBe(200);
    const after = await reportOf(t, MEASURE, T1);
    expect(figures(after.group?.[0] ?? {})).toMatchObject({ 'initial-population': 2, numerator: 0, score: 0 });
  });
});
