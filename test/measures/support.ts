import { beforeAll, expect } from 'vitest';
import type {
  CarePlan,
  List,
  MeasureReport,
  MeasureReportGroup,
  MeasureReportGroupPopulation,
} from '@medplum/fhirtypes';
import { loadMeasures } from '../../src/measures/loader.js';
import { applyPathway, completeMilestone, newPatient, outcomeOf, usePathways } from '../pathways/support.js';
import { unitOrganization } from '../registry/support.js';
import { FHIR_JSON, type TestServer } from '../support/server.js';

export { newPatient, outcomeOf };

/** The shipped terminology, pathways and Measures loaded into the test server, as `startServer` loads them. */
export function useMeasures(t: TestServer): void {
  usePathways(t);
  beforeAll(async () => {
    await loadMeasures(t.services);
  });
}

let numbers = 0;
/** A unit with an organisasjonsnummer of its own (eight digits that have a mod-11 check digit). */
function unitWithNumber(id: string) {
  for (;;) {
    try {
      return unitOrganization(id, `9${String(++numbers).padStart(7, '0')}`);
    } catch {
      // no check digit for these eight digits: the next
    }
  }
}

/** Stores reporting units (Organizations with an organisasjonsnummer) and coordinators (Practitioners). */
export async function putUnits(t: TestServer, units: string[], practitioners: string[] = []): Promise<void> {
  for (const id of units) {
    const res = await t.http().put(`/fhir/Organization/${id}`).set('Content-Type', FHIR_JSON).send(unitWithNumber(id));
    expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  }
  for (const id of practitioners) {
    const res = await t
      .http()
      .put(`/fhir/Practitioner/${id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Practitioner', id, name: [{ family: id }] });
    expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  }
}

/** One milestone done: the action, its date (or period), and an outcome [list, code] when not the usual one. */
export type Step = [action: string, when: string | { start: string; end: string }, outcome?: [string, string]];

export interface JourneyInput {
  start: string;
  unit: string;
  setting?: 'AMB' | 'IMP';
  severity?: string;
  practitioner?: string;
  referral?: string;
  /** The patient (a transfer continues with the same one); a new one when absent. */
  patient?: string;
}

/** A pathway applied with `$apply` and its milestones completed over HTTP (PUT Task), each checked to be stored. */
export async function journey(
  t: TestServer,
  code: string,
  input: JourneyInput,
  steps: Step[] = [],
): Promise<CarePlan & { patient: string }> {
  const patient = input.patient ?? (await newPatient(t));
  const params: Record<string, string> = {
    subject: patient,
    start: input.start,
    organization: `Organization/${input.unit}`,
    setting: input.setting ?? 'AMB',
  };
  if (input.severity) params.severity = input.severity;
  if (input.practitioner) params.practitioner = `Practitioner/${input.practitioner}`;
  if (input.referral) params.referral = input.referral;
  const applied = await applyPathway(t, code, params);
  expect(applied.status, JSON.stringify(applied.body).slice(0, 800)).toBe(200);
  const carePlan = applied.body as CarePlan;
  for (const [action, when, outcome] of steps) {
    const more = outcome ? { output: [outcomeOf(...outcome)] } : {};
    const res = await completeMilestone(t, carePlan, action, when, more);
    expect(res.status, `${code} ${action}: ${JSON.stringify(res.body).slice(0, 800)}`).toBe(200);
  }
  return { ...carePlan, patient };
}

/** A referral (ServiceRequest) of the patient, written on `date` (read as the date it was received). */
export async function referral(t: TestServer, patient: string, date: string): Promise<string> {
  const body = {
    resourceType: 'ServiceRequest',
    status: 'completed',
    intent: 'order',
    subject: { reference: patient },
    authoredOn: date,
    code: { text: 'Henvisning' },
  };
  const res = await t.http().post('/fhir/ServiceRequest').set('Content-Type', FHIR_JSON).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return `ServiceRequest/${res.body.id}`;
}

/** `GET Measure/[id]/$evaluate-measure` with these parameters. */
export function evaluate(t: TestServer, measure: string, query: Record<string, string>) {
  return t.http().get(`/fhir/Measure/${measure}/$evaluate-measure`).query(query);
}

/** A successful evaluation's MeasureReport. */
export async function reportOf(t: TestServer, measure: string, query: Record<string, string>): Promise<MeasureReport> {
  const res = await evaluate(t, measure, query);
  expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
  expect(res.body.resourceType).toBe('MeasureReport');
  return res.body as MeasureReport;
}

/** The counts of a group's (or stratum's) populations by code, and its score. */
export function figures(g: { population?: MeasureReportGroupPopulation[]; measureScore?: { value?: number } }) {
  const counts = Object.fromEntries((g.population ?? []).map((p) => [p.code?.coding?.[0]?.code, p.count]));
  return { ...counts, score: g.measureScore?.value };
}

/** Each stratum of a stratifier (by its code text; components' joined by `-`) as `value → figures`. */
export function strata(group: MeasureReportGroup, stratifier: string) {
  const s = group.stratifier?.find((x) => (x.code ?? []).map((c) => c.text).join('-') === stratifier);
  expect(s, `stratifier ${stratifier}`).toBeDefined();
  return Object.fromEntries(
    (s?.stratum ?? []).map((st) => [
      st.value ? (st.value.text as string) : (st.component ?? []).map((c) => c.value.text).join(' × '),
      figures(st),
    ]),
  );
}

/** The CarePlan ids a population's subjectResults (a contained List) names. */
export function counted(report: MeasureReport, population: MeasureReportGroupPopulation | undefined): string[] {
  const ref = population?.subjectResults?.reference;
  if (!ref) return [];
  const list = report.contained?.find((r) => `#${r.id}` === ref) as List | undefined;
  expect(list, ref).toBeDefined();
  return (list?.entry ?? []).map((e) => e.item.reference as string);
}

/** A group's population by code. */
export function population(g: { population?: MeasureReportGroupPopulation[] }, code: string) {
  return g.population?.find((p) => p.code?.coding?.[0]?.code === code);
}

/** CarePlan references, sorted (as subjectResults lists them). */
export const refs = (...carePlans: { id?: string }[]) => carePlans.map((c) => `CarePlan/${c.id}`).sort();

/** A unit's copy of a pathway without one of its NPR rules (PUT PlanDefinition: the rules are data). */
export async function dropNprRule(t: TestServer, pathway: string, code: string): Promise<void> {
  const plan = (await t.http().get(`/fhir/PlanDefinition/pathway-${pathway}`)).body as {
    extension?: { url: string; extension?: { url: string; valueCoding?: { code?: string } }[] }[];
  };
  const kept = plan.extension?.filter(
    (e) => !e.extension?.some((x) => x.url === 'code' && x.valueCoding?.code === code),
  );
  expect(kept?.length).toBe((plan.extension?.length ?? 0) - 1);
  const res = await t
    .http()
    .put(`/fhir/PlanDefinition/pathway-${pathway}`)
    .set('Content-Type', FHIR_JSON)
    .send({ ...plan, extension: kept });
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
}
