import { describe, expect, it } from 'vitest';
import type { CarePlan } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { applyPathway, completeMilestone, milestone, newPatient, usePathways } from './support.js';

const NPR = 'urn:oid:2.16.578.1.12.4.1.1.9329';

/** NPR's registration rules (Volven 9329 feedback codes), stored as FHIRPath in the PlanDefinitions. */
describe.each(BACKENDS)('NPR rules, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const apply = (code: string, params: Record<string, string>) => applyPathway(t, code, params);
  const started = async (code: string, birthDate?: string) =>
    (await apply(code, { subject: await newPatient(t, birthDate), start: '2026-03-02' })).body as CarePlan;
  const taskOf = (carePlan: CarePlan, actionId: string) => milestone(t, carePlan, actionId);
  const complete = (carePlan: CarePlan, actionId: string, date: string) =>
    completeMilestone(t, carePlan, actionId, date);
  const refusedWith = (
    res: {
      status: number;
      body: {
        issue: { code: string; details?: { coding?: { system: string; code: string }[] }; expression?: string[] }[];
      };
    },
    code: string,
    expression = 'Task.status',
  ) => {
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.issue[0]).toMatchObject({ code: 'business-rule', expression: [expression] });
    expect(res.body.issue[0].details?.coding?.[0]).toMatchObject({ system: NPR, code });
  };

  it('208: a clinical decision needs a first attendance before it; nothing is written', async () => {
    const carePlan = await started('D11');
    refusedWith(await complete(carePlan, 'clinical-decision', '2026-03-10'), '208');
    expect((await taskOf(carePlan, 'clinical-decision')).status).toBe('requested');
    expect((await complete(carePlan, 'first-attendance', '2026-03-05')).status).toBe(200);
    expect((await complete(carePlan, 'clinical-decision', '2026-03-10')).status).toBe(200);
  });

  it("outcomes: a clinical decision's outcome comes from that pathway's 9323 list (U, extended assessment, exists in D11, not in D06)", async () => {
    const outcome = (code: string) => ({
      output: [
        {
          type: { text: 'Utfall' },
          valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9323', code }] },
        },
      ],
    });
    for (const [pathway, allowed] of [
      ['D11', true],
      ['D06', false],
    ] as const) {
      const carePlan = await started(pathway);
      await complete(carePlan, 'first-attendance', '2026-03-05');
      const res = await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-10', outcome('U'));
      if (allowed) {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.output[0].valueCodeableConcept.coding[0].code).toBe('U');
        continue;
      }
      expect(res.status).toBe(422);
      expect(res.body.issue[0]).toMatchObject({
        code: 'code-invalid',
        expression: ['Task.output[0].valueCodeableConcept'],
      });
      expect(res.body.issue[0].diagnostics).toContain(`pathway-${pathway}-C-outcomes`);
      expect((await taskOf(carePlan, 'clinical-decision')).status).toBe('requested');
      // an outcome from another list (9326, reasons for ending) is refused as well; one of the list is taken
      expect(
        (
          await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-10', {
            output: [
              {
                type: { text: 'Utfall' },
                valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9326', code: 'G' }] },
              },
            ],
          })
        ).status,
      ).toBe(422);
      expect((await completeMilestone(t, carePlan, 'clinical-decision', '2026-03-10', outcome('P'))).status).toBe(200);
    }
  });

  it('a milestone without outcomes (first attendance) refuses a coded outcome', async () => {
    const carePlan = await started('D11');
    const res = await completeMilestone(t, carePlan, 'first-attendance', '2026-03-05', {
      output: [
        {
          type: { text: 'Utfall' },
          valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9323', code: 'P' }] },
        },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.issue[0]).toMatchObject({
      code: 'business-rule',
      expression: ['Task.output[0].valueCodeableConcept'],
    });
  });

  it('211: a first attendance dated after the clinical decision', async () => {
    const carePlan = await started('D11');
    await complete(carePlan, 'first-attendance', '2026-03-05');
    await complete(carePlan, 'clinical-decision', '2026-03-20');
    refusedWith(await complete(carePlan, 'first-attendance', '2026-03-25'), '211');
  });

  it('221 and 222: an evaluation, or feedback to the referrer, before any clinical decision', async () => {
    const carePlan = await started('D01');
    refusedWith(await complete(carePlan, 'first-evaluation', '2026-03-10'), '221');
    refusedWith(await complete(carePlan, 'feedback-to-referrer', '2026-03-10'), '222');
  });

  it('223: psychosis symptoms registered after the clinical decision (D06 only)', async () => {
    const carePlan = await started('D06');
    await complete(carePlan, 'first-attendance', '2026-03-05');
    await complete(carePlan, 'clinical-decision', '2026-03-20');
    refusedWith(await complete(carePlan, 'psychosis-symptoms', '2026-03-25'), '223');
    const other = await started('D06');
    expect((await complete(other, 'psychosis-symptoms', '2026-03-01')).status).toBe(200);
  });

  it('225: nothing after the pathway has ended (X)', async () => {
    const carePlan = await started('D11');
    expect((await complete(carePlan, 'end', '2026-03-10')).status).toBe(200);
    refusedWith(await complete(carePlan, 'first-attendance', '2026-03-12'), '225');
  });

  it('216: D12 is for patients under 18 at the start', async () => {
    refusedWith(
      await apply('D12', { subject: await newPatient(t, '2008-03-01'), start: '2026-03-02' }),
      '216',
      'subject',
    );
    expect((await apply('D12', { subject: await newPatient(t, '2008-03-03'), start: '2026-03-02' })).status).toBe(200); // 17 the day before the birthday
  });

  it('224: one open pathway per patient, except beside psychosis; after the first has ended, a new one may start', async () => {
    const subject = await newPatient(t);
    const first = (await apply('D11', { subject, start: '2026-03-02' })).body as CarePlan;
    refusedWith(await apply('D01', { subject, start: '2026-03-09' }), '224', 'subject');
    expect((await apply('D06', { subject, start: '2026-03-09' })).status).toBe(200);
    const ended = await t
      .http()
      .put(`/fhir/CarePlan/${first.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...first, status: 'completed' });
    expect(ended.status).toBe(200);
    expect((await apply('D01', { subject, start: '2026-04-01' })).status).toBe(200);
  });
});
