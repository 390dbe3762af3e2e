import { describe, expect, it } from 'vitest';
import type { Bundle, BundleEntry, CarePlan, OperationOutcomeIssue, Task } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useFixtures, useServer, type TestServer } from '../support/server.js';
import { milestone, newPatient, usePathways } from '../pathways/support.js';
import { at, expectValid } from './support.js';

const NPR = 'urn:oid:2.16.578.1.12.4.1.1.9329';

/** The unit that reports the pathways to NPR. */
const UNIT = {
  resourceType: 'Organization',
  id: 'dry-run-unit',
  name: 'DPS Prøve',
  identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber('97458909') }],
};

/** `POST PlanDefinition/pathway-[code]/$apply` with query parameters: a pathway for a new patient. */
let patients = 0;
async function startPathway(t: TestServer, code: string, start = '2026-03-02'): Promise<CarePlan> {
  // a birth year of its own: person numbers made from one birth date may coincide
  const subject = await newPatient(t, `${1960 + ++patients}-03-15`);
  const query = { subject, start, organization: `Organization/${UNIT.id}` };
  const res = await t
    .http()
    .post(`/fhir/PlanDefinition/pathway-${code}/$apply`)
    .query(query)
    .set('Content-Type', FHIR_JSON)
    .send();
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as CarePlan;
}

/** A clinical decision's outcome (Volven 9323): P, a pathway is started. */
const DECIDED = {
  output: [
    {
      type: { text: 'Utfall' },
      valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9323', code: 'P' }] },
    },
  ],
};

/** A milestone's Task as completed on `date` (a clinical decision with its outcome): the PUT entry of a Bundle. */
async function completing(t: TestServer, carePlan: CarePlan, actionId: string, date: string): Promise<BundleEntry> {
  const task = await milestone(t, carePlan, actionId);
  const more = actionId === 'clinical-decision' ? DECIDED : {};
  const resource: Task = { ...task, status: 'completed', executionPeriod: { start: date, end: date }, ...more };
  return {
    fullUrl: `${t.services.baseUrl}/Task/${task.id}`,
    resource,
    request: { method: 'PUT', url: `Task/${task.id}` },
  };
}

const bundle = (type: 'transaction' | 'batch', entry: BundleEntry[]): Bundle => ({
  resourceType: 'Bundle',
  type,
  entry,
});

/** What is stored, as counts of current resources and of versions (history): a dry run changes neither. */
async function stored(t: TestServer): Promise<{ resources: number; versions: number; auditEvents: number }> {
  await t.services.auditLog?.flush();
  await t.services.auditLog?.journal.catchUp(); // the trail as AuditEvent resources (issue 21's journal)
  const count = async (sql: string) => Number((await t.storage.get<{ n: number | string }>(sql))?.n);
  return {
    resources: await count('SELECT COUNT(*) AS n FROM resources'),
    versions: await count('SELECT COUNT(*) AS n FROM history'),
    auditEvents: await count(`SELECT COUNT(*) AS n FROM resources WHERE type = 'AuditEvent'`),
  };
}

type Issue = OperationOutcomeIssue;

/**
 * `$validate` of a transaction or batch Bundle is a dry run: the server's own Bundle processing on a
 * store that always rolls back, so the pathway reactions and NPR's rules answer as they would for a
 * POST — and nothing is stored, nor audited as written.
 */
describe.each(BACKENDS)('$validate dry-runs transactions and batches, on $name', (backend) => {
  const t = useServer(backend, { audit: true });
  useFixtures(t, () => [UNIT]);
  usePathways(t);
  const validateBundle = async (body: Bundle): Promise<Issue[]> => {
    const res = await t.http().post('/fhir/Bundle/$validate').set('Content-Type', FHIR_JSON).send(body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    return res.body.issue as Issue[];
  };
  const nprCode = (issue: Issue | undefined) => issue?.details?.coding?.find((c) => c.system === NPR)?.code;
  const taskStatus = async (carePlan: CarePlan, actionId: string) => (await milestone(t, carePlan, actionId)).status;

  it('a clinical decision (C) before the first attendance (M): NPR 208, as for the POST; none stored', async () => {
    const carePlan = await startPathway(t, 'D11');
    const outOfOrder = bundle('transaction', [await completing(t, carePlan, 'clinical-decision', '2026-03-10')]);
    const before = await stored(t);
    const issues = await validateBundle(outOfOrder);
    expect(at(issues), JSON.stringify(issues)).toEqual(['Bundle.entry[0].resource.status']);
    const error = issues.find((i) => i.severity === 'error');
    expect(error).toMatchObject({ code: 'business-rule' });
    expect(nprCode(error)).toBe('208');
    expect(await stored(t)).toEqual(before);
    expect(await taskStatus(carePlan, 'clinical-decision')).toBe('requested');

    // the same Bundle POSTed for real: refused with the same code at the same path
    const posted = await t.http().post('/fhir').set('Content-Type', FHIR_JSON).send(outOfOrder);
    expect(posted.status, JSON.stringify(posted.body)).toBe(422);
    expect(posted.body.issue[0]).toMatchObject({
      severity: 'error',
      code: 'business-rule',
      expression: ['Bundle.entry[0].resource.status'],
    });
    expect(nprCode(posted.body.issue[0])).toBe('208');
    expect(await taskStatus(carePlan, 'clinical-decision')).toBe('requested');
  });

  it('a valid transaction (M, then C) validates clean and stores nothing; POSTed, it is stored', async () => {
    const carePlan = await startPathway(t, 'D11');
    const inOrder = bundle('transaction', [
      await completing(t, carePlan, 'first-attendance', '2026-03-05'),
      await completing(t, carePlan, 'clinical-decision', '2026-03-10'),
    ]);
    const before = await stored(t);
    const issues = await validateBundle(inOrder);
    expectValid(issues);
    expect(await stored(t)).toEqual(before);
    expect(await taskStatus(carePlan, 'first-attendance')).toBe('requested');
    expect(await taskStatus(carePlan, 'clinical-decision')).toBe('requested');

    const posted = await t.http().post('/fhir').set('Content-Type', FHIR_JSON).send(inOrder);
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);
    expect(await taskStatus(carePlan, 'clinical-decision')).toBe('completed');
  });

  it('a batch: each entry dry-run on its own; a GET entry is not run', async () => {
    const carePlan = await startPathway(t, 'D11');
    const entries = [
      await completing(t, carePlan, 'clinical-decision', '2026-03-10'),
      await completing(t, carePlan, 'first-attendance', '2026-03-05'),
      { request: { method: 'GET', url: 'Patient/never-there' } } as BundleEntry,
    ];
    const before = await stored(t);
    const issues = await validateBundle(bundle('batch', entries));
    expect(at(issues), JSON.stringify(issues)).toEqual(['Bundle.entry[0].resource.status']);
    expect(nprCode(issues[0])).toBe('208');
    expect(await stored(t)).toEqual(before);
    expect(await taskStatus(carePlan, 'first-attendance')).toBe('requested');

    // POSTed, the batch answers the same per entry: 422 with 208 for the first, the second stored, the GET run (404)
    const posted = await t.http().post('/fhir').set('Content-Type', FHIR_JSON).send(bundle('batch', entries));
    expect(posted.status).toBe(200);
    const [decision, attendance, read] = (posted.body as Bundle).entry ?? [];
    expect(decision.response?.status).toMatch(/^422/);
    expect(nprCode(decision.response?.outcome?.issue[0])).toBe('208');
    expect(attendance.response?.status).toMatch(/^200/);
    expect(read.response?.status).toMatch(/^404/);
    expect(await taskStatus(carePlan, 'first-attendance')).toBe('completed');
  });

  it('a version conflict (412) and an invalid entry (422): errors at their entries, as the POST', async () => {
    const carePlan = await startPathway(t, 'D11');
    const stale = await completing(t, carePlan, 'first-attendance', '2026-03-05');
    stale.request = { ...stale.request!, ifMatch: 'W/"99"' };
    const conflict = await validateBundle(bundle('transaction', [stale]));
    const posted = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send(bundle('transaction', [stale]));
    expect(posted.status).toBe(412);
    expect(conflict.filter((i) => i.severity === 'error')).toEqual([
      expect.objectContaining({ code: posted.body.issue[0].code, expression: posted.body.issue[0].expression }),
    ]);
    expect(posted.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[0\]/);

    const invalid = {
      resource: { resourceType: 'Patient', birthDate: 'tomorrow' },
      request: { method: 'POST', url: 'Patient' },
    } as BundleEntry;
    const before = await stored(t);
    // the validator and the dry run find the same problem: reported once
    expect(at(await validateBundle(bundle('batch', [invalid])))).toEqual(['Bundle.entry[0].resource.birthDate']);
    expect(await stored(t)).toEqual(before);
  });

  it('a SearchParameter written in a dry run does not become searchable', async () => {
    const sp = {
      resourceType: 'SearchParameter',
      url: 'http://forlop.test/SearchParameter/dry-nickname',
      name: 'dryNickname',
      status: 'active',
      description: 'x',
      code: 'dry-nickname',
      base: ['Patient'],
      type: 'string',
      expression: 'Patient.name.text',
    };
    expectValid(
      await validateBundle(
        bundle('transaction', [{ resource: sp, request: { method: 'POST', url: 'SearchParameter' } } as BundleEntry]),
      ),
    );
    const search = await t.http().get('/fhir/Patient').query({ 'dry-nickname': 'x' }).set('Prefer', 'handling=strict');
    expect(search.status).toBe(400);
    expect(search.body.issue[0].diagnostics).toContain('dry-nickname');
  });

  it('mode=profile validates only: no dry run', async () => {
    const carePlan = await startPathway(t, 'D11');
    const outOfOrder = bundle('transaction', [await completing(t, carePlan, 'clinical-decision', '2026-03-10')]);
    const res = await t
      .http()
      .post('/fhir/Bundle/$validate?mode=profile')
      .set('Content-Type', FHIR_JSON)
      .send(outOfOrder);
    expect(res.status).toBe(200);
    expectValid(res.body.issue);
  });
});
