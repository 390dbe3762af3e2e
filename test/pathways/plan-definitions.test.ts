import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Extension, PlanDefinition, PlanDefinitionAction } from '@medplum/fhirtypes';
import { loadPathways } from '../../src/pathways/loader.js';
import { DeadlineRules } from '../../src/pathways/rules.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';
import { beforeAll } from 'vitest';

const TIME_LIMIT = 'http://forlop.no/fhir/StructureDefinition/pathway-time-limit';
const PATHWAYS = ['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12'];
/** The verified figures, read here to check the shipped data against its source. */
const VERIFIED = (
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../../../shared/domain/data/forlopstider-verified.json'), 'utf8'),
  ) as {
    forlopstider: { pathway: string; from: string; to: string; setting: string; maxCalendarDays: number }[];
  }
).forlopstider;

const sub = (ext: Extension, url: string) => ext.extension?.find((e) => e.url === url);
const limitsOf = (a: PlanDefinitionAction) => (a.extension ?? []).filter((e) => e.url === TIME_LIMIT);

/** The shipped pathways: loaded at start-up, valid, and holding exactly the verified time limits as rules. */
describe.each(BACKENDS)('pathway PlanDefinitions, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  beforeAll(async () => {
    await loadPathways(t.services);
  });
  const plan = async (code: string) => {
    const res = await t
      .http()
      .get(`/fhir/PlanDefinition?url=${encodeURIComponent(`http://forlop.no/fhir/PlanDefinition/pathway-${code}`)}`);
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(1);
    return res.body.entry[0].resource as PlanDefinition;
  };

  it('one PlanDefinition per pathway, findable by its 9321 code, and the own-description Questionnaire; a second load changes nothing', async () => {
    for (const code of PATHWAYS) {
      const byTopic = await t.http().get(`/fhir/PlanDefinition?topic=urn:oid:2.16.578.1.12.4.1.1.9321|${code}`);
      expect(byTopic.body.entry?.map((e: { resource: PlanDefinition }) => e.resource.id)).toEqual([`pathway-${code}`]);
    }
    const questionnaire = await t
      .http()
      .get('/fhir/Questionnaire')
      .query({ url: 'http://forlop.no/fhir/Questionnaire/own-description' });
    expect(questionnaire.body.entry?.[0].resource.item.map((i: { linkId: string }) => i.linkId)).toContain('own-part');
    expect(await loadPathways(t.services)).toEqual({ created: 0, updated: 0, unchanged: 9 });
  });

  it.each(PATHWAYS)(
    '%s validates without errors (the time-limit extension against its definition too)',
    async (code) => {
      const res = await t
        .http()
        .post('/fhir/PlanDefinition/$validate')
        .set('Content-Type', FHIR_JSON)
        .send(await plan(code));
      expect(
        res.body.issue.filter((i: { severity: string }) => i.severity === 'error' || i.severity === 'warning'),
      ).toEqual([]);
    },
  );

  it.each(PATHWAYS)(
    '%s: milestones carry 9322 event codes in order, and the care actions every pathway has',
    async (code) => {
      const p = await plan(code);
      const ids = (p.action ?? []).map((a) => a.id);
      expect(ids.slice(0, 1)).toEqual(['start']);
      for (const care of [
        'coordinator',
        'own-description',
        'children-next-of-kin',
        'violence-screening',
        'somatic-health',
      ])
        expect(ids).toContain(care);
      expect(ids.includes('psychosis-symptoms')).toBe(code === 'D06');
      expect(ids.includes('ocd-treatment-finished')).toBe(code === 'D07');
      expect(ids.includes('detox-finished')).toBe(['D01', 'D09', 'D10'].includes(code));
      const decision = p.action?.find((a) => a.id === 'clinical-decision');
      expect(decision?.code?.[0].coding?.[0]).toEqual({ system: 'urn:oid:2.16.578.1.12.4.1.1.9322', code: 'C' });
      expect(decision?.relatedAction).toEqual([{ actionId: 'first-attendance', relationship: 'after' }]);
      expect(decision?.output?.[0].codeFilter?.[0].valueSet).toBe(
        `http://forlop.no/fhir/ValueSet/pathway-${code}-C-outcomes`,
      );
    },
  );

  it('every verified figure is a rule in the data, and gives its due date', async () => {
    const rules = new DeadlineRules(t.clock);
    let checked = 0;
    for (const v of VERIFIED) {
      for (const code of v.pathway.split('/')) {
        const limits = (await plan(code)).action?.flatMap(limitsOf) ?? [];
        const days = limits.map((l) =>
          Number(/addCalendarDays\((\d+)\)/.exec(sub(l, 'rule')?.valueExpression?.expression ?? '')?.[1]),
        );
        expect(days, `${code} ${v.from} → ${v.to} (${v.setting})`).toContain(v.maxCalendarDays);
        const l = limits[days.indexOf(v.maxCalendarDays)];
        expect(sub(l, 'status')?.valueCode).toBe('verified');
        expect(rules.date(sub(l, 'rule')?.valueExpression?.expression as string, {}, { from: '2026-03-02' })).toBe(
          new Date(Date.UTC(2026, 2, 2 + v.maxCalendarDays)).toISOString().slice(0, 10),
        );
        checked++;
      }
    }
    expect(checked).toBe(VERIFIED.reduce((n, v) => n + v.pathway.split('/').length, 0));
  });

  it('where no figure is verified (D06, D11, D12), the clinical decision follows the national policy of six weeks, marked as such', async () => {
    for (const code of ['D06', 'D11', 'D12']) {
      const [limit] = limitsOf(
        (await plan(code)).action?.find((a) => a.id === 'clinical-decision') as PlanDefinitionAction,
      );
      expect(sub(limit, 'status')?.valueCode).toBe('national-policy');
      expect(sub(limit, 'from')?.valueId).toBe('start');
      expect(sub(limit, 'rule')?.valueExpression?.expression).toBe('%from.addCalendarDays(42)');
    }
  });

  it('outpatient and inpatient limits differ where the source says so (D01 assessment: 21 and 7 days)', async () => {
    const decision = (await plan('D01')).action?.find((a) => a.id === 'clinical-decision') as PlanDefinitionAction;
    const byCondition = Object.fromEntries(
      limitsOf(decision).map((l) => [
        sub(l, 'condition')?.valueExpression?.expression,
        sub(l, 'rule')?.valueExpression?.expression,
      ]),
    );
    expect(byCondition).toEqual({
      "%setting = 'AMB'": '%from.addCalendarDays(21)',
      "%setting = 'IMP'": '%from.addCalendarDays(7)',
    });
  });
});
