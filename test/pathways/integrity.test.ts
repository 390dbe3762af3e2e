import { describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, DetectedIssue, Task } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { BACKENDS } from '../support/backends.js';
import { personNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { applyPathway, completeMilestone, milestone, newPatient, outcomeOf, usePathways } from './support.js';

const NPR = 'urn:oid:2.16.578.1.12.4.1.1.9329';
const ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action';
type Outcome = {
  issue: { code: string; expression?: string[]; details?: { coding?: { system: string; code: string }[] } }[];
};

/** Issue 14: what the server accepts of a pathway reaches the registry intact, and clients hold the stored version. */
describe.each(BACKENDS)('pathway integrity, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const json = () => ({ 'Content-Type': FHIR_JSON });
  const started = async (code: string, start = '2026-03-02') => {
    const res = await applyPathway(t, code, { subject: await newPatient(t), start });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as CarePlan;
  };
  const taskOf = (carePlan: CarePlan, actionId: string) => milestone(t, carePlan, actionId);
  const read = async (type: string, id: string) => (await t.http().get(`/fhir/${type}/${id}`)).body;
  const refused = (
    res: { status: number; body: Outcome },
    status: number,
    code: string,
    expression: string,
    npr?: string,
  ) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.issue[0]).toMatchObject({ code, expression: [expression] });
    if (npr) expect(res.body.issue[0].details?.coding?.[0]).toMatchObject({ system: NPR, code: npr });
  };
  const breachesOf = async (carePlan: CarePlan) =>
    (
      (
        await t
          .http()
          .get('/fhir/DetectedIssue')
          .query({ implicated: `CarePlan/${carePlan.id}` })
      ).body.entry ?? []
    ).map((e: { resource: DetectedIssue }) => e.resource);
  const evaluate = () => t.http().post('/fhir/$evaluate-deadlines').set(json()).send({ resourceType: 'Parameters' });

  describe('the answer is the stored version', () => {
    /** The response's ETag, Location and body are those of the version a read finds now. */
    const expectStored = async (res: { status: number; headers: Record<string, string>; body: Task }) => {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const stored = await read('Task', res.body.id as string);
      expect(res.headers.etag).toBe(`W/"${stored.meta.versionId}"`);
      expect(res.headers.location).toMatch(new RegExp(`/Task/${stored.id}/_history/${stored.meta.versionId}$`));
      expect(res.headers['last-modified']).toBe(new Date(stored.meta.lastUpdated).toUTCString());
      expect(res.body).toEqual(stored);
      return stored as Task;
    };

    it('PUT: a completion the server reacts to answers the final version, and If-Match on it holds', async () => {
      t.clock.set(new Date('2026-03-10T09:00:00Z'));
      const carePlan = await started('D06'); // first attendance due 9 March
      const res = await completeMilestone(t, carePlan, 'first-attendance', '2026-03-05');
      const stored = await expectStored(res);
      expect(stored.businessStatus?.coding?.[0].code).toBe('met');
      const again = await t
        .http()
        .put(`/fhir/Task/${stored.id}`)
        .set(json())
        .set('If-Match', res.headers.etag)
        .send({ ...stored, note: [{ text: 'Kom i følge med mor' }] });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
    });

    it('PATCH and conditional update answer the final version too', async () => {
      t.clock.set(new Date('2026-03-10T09:00:00Z'));
      const carePlan = await started('D06');
      const m = await taskOf(carePlan, 'first-attendance');
      const ops = [
        { op: 'replace', path: '/status', value: 'completed' },
        { op: 'add', path: '/executionPeriod', value: { start: '2026-03-04', end: '2026-03-04' } },
      ];
      const patched = await t
        .http()
        .patch(`/fhir/Task/${m.id}`)
        .set('Content-Type', 'application/json-patch+json')
        .send(ops);
      expect((await expectStored(patched)).businessStatus?.coding?.[0].code).toBe('met');
      const c = await taskOf(carePlan, 'clinical-decision');
      const identifier = `${ACTION}|${carePlan.id}/clinical-decision`;
      const body = {
        ...c,
        status: 'completed',
        executionPeriod: { start: '2026-03-09', end: '2026-03-09' },
        output: [outcomeOf('9323', 'P')],
      };
      const conditional = await t.http().put('/fhir/Task').query({ identifier }).set(json()).send(body);
      expect((await expectStored(conditional)).businessStatus?.coding?.[0].code).toBe('met');
    });

    it('a transaction answers each entry with the version it leaves stored, also one a later entry changed', async () => {
      t.clock.set(new Date('2026-03-10T09:00:00Z'));
      const carePlan = await started('D01'); // TSB: the decision is due 21 days after the first attendance
      const c = await taskOf(carePlan, 'clinical-decision');
      const m = await taskOf(carePlan, 'first-attendance');
      const entry = [
        // first: an edit of the decision; then the attendance, whose completion moves the decision's due date
        { resource: { ...c, note: [{ text: 'Ventet på epikrise' }] }, request: { method: 'PUT', url: `Task/${c.id}` } },
        {
          resource: { ...m, status: 'completed', executionPeriod: { start: '2026-03-06', end: '2026-03-06' } },
          request: { method: 'PUT', url: `Task/${m.id}` },
        },
      ];
      const res = await t.http().post('/fhir').set(json()).send({ resourceType: 'Bundle', type: 'transaction', entry });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      for (const [i, id] of [c.id, m.id].entries()) {
        const stored = await read('Task', id as string);
        expect(res.body.entry[i].response.etag).toBe(`W/"${stored.meta.versionId}"`);
        expect(res.body.entry[i].resource).toEqual(stored);
      }
      expect((await read('Task', c.id as string)).restriction.period.start).toBe('2026-03-06');
    });

    it('an update that changes nothing stores no version and answers the current one', async () => {
      const carePlan = await started('D11');
      const m = await taskOf(carePlan, 'first-attendance');
      const res = await t
        .http()
        .put(`/fhir/Task/${m.id}`)
        .set(json())
        .send({ ...m, meta: { versionId: '99', lastUpdated: '2020-01-01T00:00:00Z' } });
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe(`W/"${m.meta?.versionId}"`);
      expect((await t.http().get(`/fhir/Task/${m.id}/_history`)).body.total).toBe(Number(m.meta?.versionId));
      const changed = await t
        .http()
        .put(`/fhir/Task/${m.id}`)
        .set(json())
        .send({ ...m, meta: { tag: [{ code: 'vip' }] } });
      expect(changed.headers.etag).toBe(`W/"${Number(m.meta?.versionId) + 1}"`); // a tag is content
    });
  });

  describe('milestone dates and outcomes are checked where they are written', () => {
    it('a completion without a date, dated after today or before the start is refused, and nothing is stored', async () => {
      t.clock.set(new Date('2026-03-10T09:00:00Z'));
      const carePlan = await started('D11');
      const m = await taskOf(carePlan, 'first-attendance');
      const put = (body: object) =>
        t
          .http()
          .put(`/fhir/Task/${m.id}`)
          .set(json())
          .send({ ...m, status: 'completed', ...body });
      refused(await put({}), 422, 'required', 'Task.executionPeriod.end', '107');
      refused(
        await put({ executionPeriod: { start: '2026-03-05' } }),
        422,
        'required',
        'Task.executionPeriod.end',
        '107',
      );
      // 23:30 UTC on 10 March is 11 March in Oslo: tomorrow
      refused(
        await put({ executionPeriod: { end: '2026-03-10T23:30:00Z' } }),
        422,
        'business-rule',
        'Task.executionPeriod.end',
      );
      refused(
        await put({ executionPeriod: { start: '2026-03-01', end: '2026-03-01' } }),
        422,
        'business-rule',
        'Task.executionPeriod.end',
      );
      expect(await read('Task', m.id as string)).toEqual(m);
      expect((await put({ executionPeriod: { end: '2026-03-10T22:30:00Z' } })).status).toBe(200); // 23:30 in Oslo: today
    });

    it('the onset of psychosis symptoms may predate the pathway: its PlanDefinition action is not after the start', async () => {
      const carePlan = await started('D06');
      expect((await completeMilestone(t, carePlan, 'psychosis-symptoms', '2025-11-20')).status).toBe(200);
    });

    it('a completion dated out of NPR order is refused with its code, whichever milestone moved', async () => {
      t.clock.set(new Date('2026-04-30T09:00:00Z'));
      const carePlan = await started('D11');
      expect((await completeMilestone(t, carePlan, 'first-attendance', '2026-03-10')).status).toBe(200);
      // the decision dated before the first attendance: 208 on the decision itself
      refused(
        await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-05'),
        422,
        'business-rule',
        'Task.status',
        '208',
      );
      expect((await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-12')).status).toBe(200);
      expect((await completeMilestone(t, carePlan, 'first-evaluation', '2026-03-20')).status).toBe(200);
      // the decision moved after the evaluation: the evaluation (221) would come before it
      const moved = await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-25');
      refused(moved, 422, 'business-rule', 'Task.executionPeriod.end', '221');
      expect((await taskOf(carePlan, 'clinical-decision')).executionPeriod?.end).toBe('2026-03-12');
      // the attendance moved after the decision: 211 on the attendance
      refused(
        await completeMilestone(t, carePlan, 'first-attendance', '2026-03-15'),
        422,
        'business-rule',
        'Task.status',
        '211',
      );
    });

    it('an event whose NPR code has an outcome cannot be completed without one; one without outcomes takes none', async () => {
      t.clock.set(new Date('2026-03-20T09:00:00Z'));
      const carePlan = await started('D11');
      expect((await completeMilestone(t, carePlan, 'first-attendance', '2026-03-05')).status).toBe(200);
      const before = await taskOf(carePlan, 'clinical-decision');
      refused(
        await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-10', { output: undefined }),
        422,
        'required',
        'Task.output',
        '201',
      );
      expect(await taskOf(carePlan, 'clinical-decision')).toEqual(before);
      const text = { output: [{ type: { text: 'Utfall' }, valueString: 'behandling' }] };
      refused(
        await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-10', text),
        422,
        'required',
        'Task.output',
        '201',
      );
      const feedback = await completeMilestone(t, carePlan, 'feedback-to-referrer', '2026-03-11', {
        output: [outcomeOf('9323', 'P')],
      });
      refused(feedback, 422, 'business-rule', 'Task.output[0].valueCodeableConcept');
    });
  });

  describe('NPR 216 reads the age from the person number', () => {
    const patientWith = async (id: string, identifier: object) => {
      const res = await t
        .http()
        .put(`/fhir/Patient/${id}`)
        .set(json())
        .send({ resourceType: 'Patient', id, identifier: [identifier] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return `Patient/${id}`;
    };

    it('a 68-year-old known only by fødselsnummer is refused D12; a 12-year-old by D-nummer is not', async () => {
      const old = await patientWith('fnr-only-1958', {
        system: 'urn:oid:2.16.578.1.12.4.1.4.1',
        value: personNumber('070558', 410),
      });
      refused(
        await applyPathway(t, 'D12', { subject: old, start: '2026-03-02' }),
        422,
        'business-rule',
        'subject',
        '216',
      );
      expect((await t.http().get('/fhir/CarePlan').query({ subject: old })).body.total ?? 0).toBe(0);
      const young = await patientWith('dnr-only-2013', {
        system: 'urn:oid:2.16.578.1.12.4.1.4.2',
        value: personNumber('010613', 520, 'dnr'),
      });
      const res = await applyPathway(t, 'D12', { subject: young, start: '2026-03-02' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.note).toBeUndefined();
    });

    it('an H-nummer carries no age: applied, with a note on the CarePlan that 216 was not checked', async () => {
      const h = {
        system: 'HNR',
        value: personNumber('010680', 301, 'hnr'),
        assigner: { display: 'Sykehuset Innlandet' },
      };
      const res = await applyPathway(t, 'D12', { subject: await patientWith('h-only', h), start: '2026-03-02' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.note[0].text).toMatch(/^NPR 216 ikke kontrollert: .*H-nummer/);
    });
  });

  describe('breaches follow the facts', () => {
    const overdueMilestone = async () => {
      t.clock.set(new Date('2026-03-03T09:00:00Z'));
      const carePlan = await started('D06'); // first attendance due 9 March
      t.clock.set(new Date('2026-03-10T09:00:00Z'));
      expect((await evaluate()).status).toBe(200);
      const [breach] = await breachesOf(carePlan);
      expect(breach).toMatchObject({ status: 'final', code: { coding: [{ code: 'overdue' }] } });
      const deadlines = (await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`)).body.parameter;
      expect(JSON.stringify(deadlines)).toContain(`"DetectedIssue/${breach.id}"`);
      return { carePlan, breach: breach as DetectedIssue, task: await taskOf(carePlan, 'first-attendance') };
    };
    const withdrawn = async (carePlan: CarePlan, reason: RegExp) => {
      const issues = await breachesOf(carePlan);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({
        status: 'entered-in-error',
        mitigation: [{ date: t.clock.now().toISOString() }],
      });
      expect(issues[0].mitigation[0].action.text).toMatch(reason);
      const standing = await t
        .http()
        .get('/fhir/DetectedIssue')
        .query({ implicated: `CarePlan/${carePlan.id}`, status: 'final' });
      expect(standing.body.entry ?? []).toEqual([]);
      return issues[0] as DetectedIssue;
    };

    it('a back-dated completion in time withdraws the breach in the same write; $deadlines says met', async () => {
      const { carePlan } = await overdueMilestone();
      expect((await completeMilestone(t, carePlan, 'first-attendance', '2026-03-06')).status).toBe(200);
      await withdrawn(carePlan, /utført 2026-03-06, innen fristen 2026-03-09/);
      const deadlines = await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`);
      const m = deadlines.body.parameter.find(
        (p: { name: string; part?: { name: string; valueCoding?: { code: string } }[] }) =>
          p.part?.some((x) => x.name === 'code' && x.valueCoding?.code === 'M'),
      );
      expect(m.part.find((x: { name: string }) => x.name === 'status').valueCode).toBe('met');
      expect(m.part.some((x: { name: string }) => x.name === 'breach')).toBe(false);
    });

    it('a moved due date withdraws it; when the new date passes, the same breach comes back', async () => {
      const { carePlan, breach, task } = await overdueMilestone();
      const later = { ...task, restriction: { period: { ...task.restriction?.period, end: '2026-03-20' } } };
      expect((await t.http().put(`/fhir/Task/${task.id}`).set(json()).send(later)).status).toBe(200);
      await withdrawn(carePlan, /Fristen er nå 2026-03-20/);
      t.clock.set(new Date('2026-03-21T09:00:00Z'));
      await evaluate();
      const issues = await breachesOf(carePlan);
      expect(issues.map((i: DetectedIssue) => [i.id, i.status])).toEqual([[breach.id, 'final']]);
      expect(issues[0].mitigation).toBeUndefined();
    });

    it('a cancelled milestone loses its standing and its breach', async () => {
      const { carePlan, task } = await overdueMilestone();
      const cancelled = { ...task, status: 'cancelled', statusReason: { text: 'Feilregistrert' } };
      const res = await t.http().put(`/fhir/Task/${task.id}`).set(json()).send(cancelled);
      expect(res.status).toBe(200);
      expect(res.body.businessStatus).toBeUndefined();
      await withdrawn(carePlan, /avlyst: Feilregistrert/);
    });

    it('a postponement (L) moves the due date and withdraws the breach', async () => {
      const { carePlan } = await overdueMilestone();
      const res = await completeMilestone(
        t,
        carePlan,
        'patient-postponed',
        { start: '2026-03-08', end: '2026-03-10' },
        { output: undefined },
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((await taskOf(carePlan, 'first-attendance')).restriction?.period?.end).toBe('2026-03-11');
      await withdrawn(carePlan, /Fristen er nå 2026-03-11/);
    });
  });

  describe('$apply changes state', () => {
    it('is POST only: GET is 405; the OperationDefinition says affectsState', async () => {
      const res = await t
        .http()
        .get('/fhir/PlanDefinition/pathway-D11/$apply')
        .query({ subject: await newPatient(t) });
      expect(res.status).toBe(405);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported' }] });
      const capability = (await t.http().get('/fhir/metadata')).body;
      const plan = capability.rest[0].resource.find((r: { type: string }) => r.type === 'PlanDefinition');
      const url = plan.operation.find((o: { name: string }) => o.name === 'apply').definition;
      const definition = JSON.parse(
        readFileSync(new URL('../../profiles/OperationDefinition-PlanDefinition-apply.json', import.meta.url), 'utf8'),
      );
      expect(definition).toMatchObject({ url, affectsState: true, code: 'apply' });
    });

    it('a retry finds the pathway open: 409 in Norwegian, nothing written; D06 may still run beside it', async () => {
      const subject = await newPatient(t);
      expect((await applyPathway(t, 'D11', { subject, start: '2026-03-02' })).status).toBe(200);
      const again = await applyPathway(t, 'D11', { subject, start: '2026-03-02' });
      refused(again, 409, 'duplicate', 'subject');
      expect(JSON.stringify(again.body)).toContain('Pasienten har allerede et aktivt forløp av denne typen');
      expect((await t.http().get('/fhir/CarePlan').query({ subject })).body.total).toBe(1);
      expect((await applyPathway(t, 'D06', { subject, start: '2026-03-02' })).status).toBe(200);
      refused(await applyPathway(t, 'D06', { subject, start: '2026-03-03' }), 409, 'duplicate', 'subject');
    });

    it('a pathway needs a reporting unit: without organization (and no default) it is refused', async () => {
      const subject = await newPatient(t);
      const res = await t
        .http()
        .post('/fhir/PlanDefinition/pathway-D11/$apply')
        .query({ subject, start: '2026-03-02' });
      refused(res, 400, 'required', 'organization');
    });
  });

  describe('one person, one Patient', () => {
    const fnr = personNumber('241285', 150);
    const patient = (id: string) => ({
      resourceType: 'Patient',
      id,
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: fnr }],
    });

    it('a second Patient with a fødselsnummer on file is refused, naming the first; a conditional create finds it', async () => {
      expect((await t.http().put('/fhir/Patient/per').set(json()).send(patient('per'))).status).toBe(201);
      const second = await t
        .http()
        .post('/fhir/Patient')
        .set(json())
        .send({ ...patient('x'), id: undefined });
      refused(second, 409, 'duplicate', 'Patient.identifier[0].value');
      expect(JSON.stringify(second.body)).toContain('Patient/per');
      const conditional = await t
        .http()
        .post('/fhir/Patient')
        .set(json())
        .set('If-None-Exist', `identifier=urn:oid:2.16.578.1.12.4.1.4.1|${fnr}`)
        .send({ ...patient('x'), id: undefined });
      expect(conditional.status).toBe(200);
      expect(conditional.body.id).toBe('per');
      const updated = await t
        .http()
        .put('/fhir/Patient/per')
        .set(json())
        .send({ ...patient('per'), gender: 'male' });
      expect(updated.status).toBe(200);
      const search = await t
        .http()
        .get('/fhir/Patient')
        .query({ identifier: `urn:oid:2.16.578.1.12.4.1.4.1|${fnr}` });
      expect(search.body.total).toBe(1);
    });

    it('the same number in a transaction twice fails the transaction whole', async () => {
      const dnr = personNumber('150477', 260, 'dnr');
      const p = (fullUrl: string) => ({
        fullUrl,
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.2', value: dnr }] },
        request: { method: 'POST', url: 'Patient' },
      });
      const uuids = ['urn:uuid:6f1e0d2a-3b4c-4d5e-8f60-718293a4b5c6', 'urn:uuid:7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'];
      const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: uuids.map(p) } as Bundle;
      const res = await t.http().post('/fhir').set(json()).send(bundle);
      refused(res, 409, 'duplicate', 'Bundle.entry[1].resource.identifier[0].value');
      const search = await t
        .http()
        .get('/fhir/Patient')
        .query({ identifier: `urn:oid:2.16.578.1.12.4.1.4.2|${dnr}` });
      expect(search.body.total).toBe(0);
    });

    it('a Patient with pathways cannot be deleted; one without can', async () => {
      const subject = await newPatient(t);
      expect((await applyPathway(t, 'D11', { subject, start: '2026-03-02' })).status).toBe(200);
      refused(await t.http().delete(`/fhir/${subject}`), 409, 'conflict', 'Patient');
      expect((await t.http().get(`/fhir/${subject}`)).status).toBe(200);
      const lone = await newPatient(t);
      expect((await t.http().delete(`/fhir/${lone}`)).status).toBe(204);
    });
  });
});

/** PATHWAY_DEFAULT_UNIT: a pathway applied without `organization` is reported by the configured unit. */
describe.each(BACKENDS)('the default reporting unit, on $name', (backend) => {
  const t = useServer(backend, { pathwayDefaultUnit: 'Organization/default-unit' });
  usePathways(t);

  it('an $apply without organization takes the default unit; the configuration refuses a malformed one', async () => {
    const unit = { resourceType: 'Organization', id: 'default-unit', name: 'Standardenheten' };
    expect(
      (await t.http().put('/fhir/Organization/default-unit').set('Content-Type', FHIR_JSON).send(unit)).status,
    ).toBe(201);
    const subject = await newPatient(t);
    const res = await t.http().post('/fhir/PlanDefinition/pathway-D11/$apply').query({ subject, start: '2026-03-02' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const episode = await t.http().get(`/fhir/${res.body.supportingInfo[0].reference}`);
    expect(episode.body.managingOrganization).toEqual({ reference: 'Organization/default-unit' });
    expect(loadConfig({ PATHWAY_DEFAULT_UNIT: 'Organization/default-unit' }).pathwayDefaultUnit).toBe(
      'Organization/default-unit',
    );
    expect(loadConfig({ PATHWAY_DEFAULT_UNIT: '' }).pathwayDefaultUnit).toBeUndefined();
    expect(() => loadConfig({ PATHWAY_DEFAULT_UNIT: 'dps-nord' })).toThrow(/PATHWAY_DEFAULT_UNIT/);
  });
});
