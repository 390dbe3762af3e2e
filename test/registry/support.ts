import { expect } from 'vitest';
import type { Bundle, CarePlan, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import type { ParametersParameter, Procedure } from '@medplum/fhirtypes';
import { organisationNumber, personNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, type TestServer } from '../support/server.js';

export const ENH = 'urn:oid:2.16.578.1.12.4.1.4.101';
export const RESH = 'urn:oid:2.16.578.1.12.4.1.4.102';

/** A reporting unit with an organisasjonsnummer (made valid from eight digits) and, if given, a RESH id. */
export function unitOrganization(id: string, eight: string, resh?: string) {
  const identifier = [{ system: ENH, value: organisationNumber(eight) }];
  if (resh) identifier.push({ system: RESH, value: resh });
  return { resourceType: 'Organization', id, name: `Enhet ${id}`, identifier };
}

let patients = 0;
const pad = (v: number) => String(v).padStart(2, '0');
const numbersUsed = new Set<string>();

/** A synthetic fødselsnummer for a birth date that no patient of this run has had yet. */
function freshNumber(birthDate: string): string {
  const [y, m, d] = birthDate.split('-');
  // the individnummer tells the century: 000–499 for 1900–1999, 500–999 for 2000–2039
  for (let individ = Number(y) >= 2000 ? 500 : 100; ; individ++) {
    const fnr = personNumber(`${d}${m}${y.slice(2)}`, individ, 'synthetic');
    if (!numbersUsed.has(fnr)) {
      numbersUsed.add(fnr);
      return fnr;
    }
  }
}

/**
 * A new patient with a synthetic fødselsnummer of their own (one person is one Patient: the server
 * refuses a second Patient with the same number); born on `birthDate`, or on a date of its own.
 */
export async function reportPatient(t: TestServer, birthDate?: string): Promise<string> {
  const n = ++patients;
  const born = birthDate ?? [1950 + (n % 40), 1 + (n % 12), 1 + (n % 28)].map((v) => pad(v)).join('-');
  const id = `rp-${n}-${Math.random().toString(36).slice(2, 8)}`;
  const identifier = [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: freshNumber(born) }];
  const name = [{ family: 'Rapportsen', given: [`Pasient ${n}`] }];
  const patient = { resourceType: 'Patient', id, name, birthDate: born, identifier };
  const res = await t.http().put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(patient);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return `Patient/${id}`;
}

/** `POST PlanDefinition/pathway-[code]/$apply` with a Parameters body (the operation is POST-only). */
export async function applyByPost(t: TestServer, code: string, params: Record<string, string>): Promise<CarePlan> {
  const parameter = Object.entries(params).map(([name, value]) =>
    name === 'start' ? { name, valueDate: value } : { name, valueString: value },
  );
  const res = await t
    .http()
    .post(`/fhir/PlanDefinition/pathway-${code}/$apply`)
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Parameters', parameter });
  expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
  return res.body as CarePlan;
}

/** `POST [base]/$registry-report` with these parameters; the raw response. */
export function postReport(t: TestServer, parameter: ParametersParameter[], query: Record<string, string> = {}) {
  return t
    .http()
    .post('/fhir/$registry-report')
    .query(query)
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Parameters', parameter });
}

/** The named parameters (or parts) of a Parameters answer. */
type WithParameters = { parameter?: ParametersParameter[]; part?: ParametersParameter[] };
export const named = (params: WithParameters, name: string) =>
  (params.parameter ?? params.part ?? []).filter((p) => p.name === name);

/** One unit's answer: the report Bundle, its problems and whether it changed. */
export function unitAnswer(body: Parameters) {
  return {
    bundle: named(body, 'report')[0]?.resource as Bundle,
    problems: named(body, 'problems')[0]?.resource as OperationOutcome,
    changed: named(body, 'changed')[0]?.valueBoolean as boolean,
  };
}

/** The combined codes of a report's Procedures, with their patient and date. */
export const reportedCodes = (b: Bundle) =>
  (b.entry ?? [])
    .filter((e) => e.resource?.resourceType === 'Procedure')
    .map((e) => e.resource as Procedure)
    .map((p) => ({ subject: p.subject?.reference, code: p.code?.coding?.[0].code, when: p.performedDateTime }));
