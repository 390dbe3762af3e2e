import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Resource, Task } from '@medplum/fhirtypes';
import { EXAMPLES_DIR, loadExamples } from '../../src/fhir/example-loader.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { postReport, unitAnswer } from '../registry/support.js';
import { usePathways } from './support.js';

const FILES = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.startsWith('journey-'))
  .sort();
const bundleOf = (file: string) => JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Bundle;
const resources = (b: Bundle, type: string) =>
  (b.entry ?? []).map((e) => e.resource as Resource).filter((r) => r.resourceType === type);

/**
 * The shipped example journeys (examples/, built by tools/build-examples.ts): one per pathway, loadable and true to
 * the rules.
 */
describe.each(BACKENDS)('example journeys, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);

  it('cover every pathway, with a transfer, an ØH start, a postponement and a breach; every person synthetic (month + 80)', () => {
    const pathways = FILES.flatMap((f) =>
      resources(bundleOf(f), 'CarePlan').map((c) => (c as CarePlan).category?.[0]?.coding?.[0]?.code),
    ).sort();
    expect([...new Set(pathways)]).toEqual(['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12']);
    for (const file of FILES) {
      for (const p of resources(bundleOf(file), 'Patient')) {
        const fnr = (p as { identifier: { value: string }[] }).identifier[0].value;
        expect(Number(fnr.slice(2, 4)), `${file}: ${fnr}`).toBeGreaterThan(80);
      }
    }
    const all = FILES.map((f) => JSON.stringify(bundleOf(f)));
    expect(all.some((s) => s.includes('"code":"N"') && s.includes('9326'))).toBe(true); // transfer
    expect(all.some((s) => s.includes('ØH: the pathway starts'))).toBe(true);
    expect(
      all.some(
        (s) =>
          s.includes('pathway-action","value":"') &&
          s.includes('patient-postponed') &&
          s.includes('Pasienten ønsket å utsette'),
      ),
    ).toBe(true);
    expect(FILES.flatMap((f) => resources(bundleOf(f), 'DetectedIssue'))).toHaveLength(1);
  });

  it.each(FILES)(
    '%s loads as a transaction (twice: nothing duplicated) and reads back as the journey it records',
    async (file) => {
      t.clock.set(new Date('2026-11-20T09:00:00Z'));
      const bundle = bundleOf(file);
      const versions = async () =>
        Number((await t.services.store.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM history'))?.n);
      const counts: number[] = [];
      for (let round = 0; round < 2; round++) {
        const res = await t.http().post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
        expect(res.status, JSON.stringify(res.body).slice(0, 2000)).toBe(200);
        counts.push(await versions());
      }
      // the second load says what is stored already: not one new version
      expect(counts[1]).toBe(counts[0]);
      // the shared organisation and practitioners are conditional updates by identifier: one each, whatever loads them
      expect(
        (await t.http().get('/fhir/Organization').query({ identifier: 'urn:oid:2.16.578.1.12.4.1.4.102|4209999' })).body
          .entry,
      ).toHaveLength(1);
      for (const plan of resources(bundle, 'CarePlan') as CarePlan[]) {
        const deadlines = await t.http().get(`/fhir/CarePlan/${plan.id}/$deadlines`);
        expect(deadlines.status).toBe(200);
        const standing = Object.fromEntries(
          deadlines.body.parameter
            .filter((p: { name: string }) => p.name === 'milestone')
            .map((m: { part: { name: string; valueReference?: { reference: string }; valueCode?: string }[] }) => [
              m.part[0].valueReference?.reference,
              m.part.find((p) => p.name === 'status')?.valueCode,
            ]),
        );
        // each recorded businessStatus is what $deadlines computes now from the stored dates
        for (const task of resources(bundle, 'Task') as Task[]) {
          if (task.basedOn?.[0].reference !== `CarePlan/${plan.id}` || !task.businessStatus) continue;
          expect(standing[`Task/${task.id}`], `${file}: ${task.id}`).toBe(task.businessStatus.coding?.[0].code);
        }
        const stored = (await t.http().get(`/fhir/CarePlan/${plan.id}`)).body as CarePlan;
        expect(stored.status).toBe('completed');
        const issues = await t
          .http()
          .get('/fhir/DetectedIssue')
          .query({ implicated: `CarePlan/${plan.id}` });
        expect(issues.body.entry ?? []).toHaveLength(
          resources(bundle, 'DetectedIssue').filter((d) => JSON.stringify(d).includes(`CarePlan/${plan.id}"`)).length,
        );
      }
    },
  );

  it('the journeys show what they are about: the postponed due date, the missed first attendance, the transfer', async () => {
    const task = async (id: string) => (await t.http().get(`/fhir/Task/${id}`)).body as Task;
    // D07: assessment within 42 days of 16 February, moved by the two weeks the patient asked for
    expect((await task('d07-ocd-postponed-d07-first-attendance')).restriction?.period?.end).toBe('2026-04-13');
    // D08 severe: first attendance within 7 days (11 May), done on 13 May
    expect((await task('d08-eating-disorders-breach-d08-first-attendance')).businessStatus?.coding?.[0].code).toBe(
      'missed',
    );
    // D11 ended with N, then D06 started the same day
    const ended = await task('d06-psychosis-transfer-d11-end');
    expect(ended.output?.[0].valueCodeableConcept?.coding?.[0].code).toBe('N');
    expect(
      ((await t.http().get('/fhir/CarePlan/d06-psychosis-transfer-d06-careplan')).body as CarePlan).period?.start,
    ).toBe(ended.executionPeriod?.end);
  });
});

describe('the demo loader (server start with LOAD_EXAMPLES)', () => {
  const t = useServer(BACKENDS[0]);
  usePathways(t);

  it('loads each journey once: a second start finds them present and writes nothing', async () => {
    const first = await loadExamples(t.services, t.dispatch);
    expect(first).toEqual({ loaded: FILES, present: [] });
    expect((await t.http().get('/fhir/CarePlan/d11-adults-d11-careplan')).status).toBe(200);
    const before = await t.services.store.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM history');
    expect(await loadExamples(t.services, t.dispatch)).toEqual({ loaded: [], present: FILES });
    const after = await t.services.store.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM history');
    expect(Number(after?.n)).toBe(Number(before?.n));
  });

  it('every month the journeys record has a report for each unit with no problem', async () => {
    const months = new Set<string>();
    for (const file of FILES) {
      for (const task of resources(bundleOf(file), 'Task') as Task[]) {
        if (task.status === 'completed' && task.executionPeriod?.end) months.add(task.executionPeriod.end.slice(0, 7));
      }
    }
    expect(months.size).toBeGreaterThan(3);
    for (const period of [...months].sort()) {
      const res = await postReport(t, [{ name: 'period', valueString: period }]);
      expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
      type Part = { name: string; valueInteger?: number; part?: Part[]; resource?: unknown };
      const units = (res.body.parameter as Part[]).filter((p) => p.name === 'unit-report');
      expect(units.length, period).toBeGreaterThan(0);
      for (const unit of units) {
        const value = (name: string) => unit.part?.find((p) => p.name === name);
        expect(value('outcome'), `${period}: ${JSON.stringify(value('outcome'))}`).toBeUndefined();
        expect(value('codes')?.valueInteger, period).toBeGreaterThan(0);
        expect(value('codes-with-problems')?.valueInteger, period).toBe(0);
      }
    }
  });

  it('the shipped registry report example is what $registry-report makes of the journeys, and meets its profile', async () => {
    const shipped = JSON.parse(readFileSync(join(EXAMPLES_DIR, 'npr-report-2026-03.json'), 'utf8')) as Bundle;
    const validated = await t.http().post('/fhir/Bundle/$validate').set('Content-Type', FHIR_JSON).send(shipped);
    expect(validated.body.issue.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
    const org = (
      await t.http().get('/fhir/Organization').query({ identifier: 'urn:oid:2.16.578.1.12.4.1.4.102|4209999' })
    ).body.entry[0].resource;
    const res = await postReport(t, [
      { name: 'period', valueString: '2026-03' },
      { name: 'unit', valueString: `Organization/${org.id}` },
    ]);
    expect(res.status).toBe(200);
    const made = unitAnswer(res.body).bundle;
    const codes = (b: Bundle) =>
      (b.entry ?? [])
        .map(
          (e) =>
            e.resource as Resource & {
              code?: { coding: { code: string }[] };
              performedDateTime?: string;
              subject?: { reference: string };
            },
        )
        .filter((r) => r.resourceType === 'Procedure')
        .map((r) => `${r.subject?.reference} ${r.code?.coding[0].code} ${r.performedDateTime}`)
        .sort();
    expect(codes(made)).toEqual(codes(shipped));
    expect(made.identifier).toEqual(shipped.identifier);
  });
});
