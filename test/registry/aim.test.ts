import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, OperationOutcome, ParametersParameter } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';
import { completeMilestone, usePathways } from '../pathways/support.js';
import { applyByPost, ENH, named, postReport, RESH, reportedCodes, reportPatient, unitAnswer } from './support.js';
import { unitOrganization } from './support.js';

const ORGNR_A = organisationNumber('91827364');
const ORGNR_B = organisationNumber('92837465');
const JOB = 'http://forlop.no/fhir/CodeSystem/job|npr-report';
type UnitValue = Omit<ParametersParameter, 'name'>;

/**
 * Aiming `$registry-report` and `forlop registry-report`: a unit by id or by identifier (the
 * organisasjonsnummer or RESH id alone, `system|value`, a Reference with an identifier), every unit
 * when none is named; a name that fits no unit or several is refused before any run starts.
 */
describe.each(BACKENDS)('aiming the registry report, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const plans: Record<string, CarePlan> = {};
  type JobEntry = { resource: { input?: { valueReference?: { reference?: string } }[] } };
  /** The registry runs recorded (job Tasks), of one unit or of all. */
  const reports = async (unit?: string) => {
    const res = await t.http().get('/fhir/Task').query({ code: JOB, _count: '100' });
    const entries = (res.body.entry ?? []) as JobEntry[];
    return entries.filter((e) => !unit || e.resource.input?.[1]?.valueReference?.reference === unit).length;
  };
  /** `$registry-report` for a period and the units named (each a `unit` parameter's value). */
  const ask = (period: string, ...units: UnitValue[]) =>
    postReport(t, [{ name: 'period', valueString: period }, ...units.map((u) => ({ name: 'unit', ...u }))]);
  const version = async (id: string) => (await t.http().get(`/fhir/Bundle/${id}`)).body.meta?.versionId as string;
  const expectRefused = (res: { status: number; body: OperationOutcome }, status: number, code: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].code).toBe(code);
    expect(res.body.issue[0].expression).toEqual(['unit']);
  };

  beforeAll(async () => {
    const orgs = [
      unitOrganization('sikte-a', '91827364', '4201111'),
      unitOrganization('sikte-b', '92837465'),
      // two units that share a RESH id by mistake: naming it must not pick one of them
      unitOrganization('tvilling-1', '93847569', '4209876'),
      unitOrganization('tvilling-2', '94857603', '4209876'),
      unitOrganization('nedlagt-hf', '95867412'),
    ];
    for (const org of orgs) {
      const stored = await t.http().put(`/fhir/Organization/${org.id}`).set('Content-Type', FHIR_JSON).send(org);
      expect(stored.status).toBe(201);
    }
    t.clock.set(new Date('2026-10-01T09:00:00Z'));
    for (const unit of ['sikte-a', 'sikte-b', 'nedlagt-hf']) {
      const params = { subject: await reportPatient(t), start: '2026-10-01', organization: `Organization/${unit}` };
      plans[unit] = await applyByPost(t, 'D11', params);
    }
    // a unit closed down after its pathways began: still a managing organisation, no longer known
    expect((await t.http().delete('/fhir/Organization/nedlagt-hf')).status).toBe(204);
    t.clock.set(new Date('2026-11-20T09:00:00Z'));
    expect((await completeMilestone(t, plans['sikte-b'], 'first-attendance', '2026-11-10')).status).toBe(200);
  });

  it('one unit, named any way (reference, id, orgnr, RESH, system|value, identifier, query): one report', async () => {
    const forms: [string, UnitValue[], Record<string, string>?][] = [
      ['reference', [{ valueReference: { reference: 'Organization/sikte-a' } }]],
      ['id', [{ valueString: 'sikte-a' }]],
      ['organisasjonsnummer', [{ valueString: ORGNR_A }]],
      ['RESH id', [{ valueString: '4201111' }]],
      ['system|value', [{ valueString: `${ENH}|${ORGNR_A}` }]],
      ['Reference.identifier', [{ valueReference: { identifier: { system: RESH, value: '4201111' } } }]],
      ['Identifier', [{ valueIdentifier: { system: ENH, value: ORGNR_A } }]],
      ['query on POST', [], { unit: ORGNR_A }],
    ];
    for (const [i, [form, unit, query]] of forms.entries()) {
      const res = query
        ? await postReport(t, [{ name: 'period', valueString: '2026-10' }], query)
        : await ask('2026-10', ...unit);
      expect(res.status, `${form}: ${JSON.stringify(res.body).slice(0, 800)}`).toBe(200);
      const { bundle, changed } = unitAnswer(res.body);
      expect(bundle.id, form).toBe('npr-sikte-a-2026-10');
      expect(bundle.entry?.[0].resource, form).toMatchObject({ resourceType: 'Organization', id: 'sikte-a' });
      expect(
        reportedCodes(bundle).map((c) => c.code),
        form,
      ).toEqual(['D11A']);
      expect(changed, form).toBe(i === 0);
    }
    // eight runs, one stored version: the same unit each time
    expect(await version('npr-sikte-a-2026-10')).toBe('1');
    expect(await reports('Organization/sikte-a')).toBe(forms.length);
  });

  it('a name no Organization has: 404 naming unit, and no run (no job Task, no report)', async () => {
    const before = await reports();
    for (const unit of [organisationNumber('96877777'), 'Organization/ukjent', `${RESH}|4200000`]) {
      expectRefused(await ask('2026-10', { valueString: unit }), 404, 'not-found');
    }
    // a deleted unit is no longer known either
    expectRefused(await ask('2026-10', { valueString: 'nedlagt-hf' }), 404, 'not-found');
    expect((await t.http().get('/fhir/Bundle/npr-ukjent-2026-10')).status).toBe(404);
    expect(await reports()).toBe(before);
  });

  it('a name several Organizations have: 422 multiple-matches naming unit and both of them; nothing run', async () => {
    const res = await ask('2026-10', { valueString: '4209876' });
    expectRefused(res, 422, 'multiple-matches');
    expect(res.body.issue[0].diagnostics).toContain('Organization/tvilling-1');
    expect(res.body.issue[0].diagnostics).toContain('Organization/tvilling-2');
    expect(await reports('Organization/tvilling-1')).toBe(0);
    expect(await reports('Organization/tvilling-2')).toBe(0);
    // by id the twins are told apart
    const one = await ask('2026-10', { valueString: 'Organization/tvilling-1' });
    expect(one.status).toBe(200);
    expect(unitAnswer(one.body).bundle.id).toBe('npr-tvilling-1-2026-10');
  });

  it('malformed: another type, an empty value, two units: 400 naming unit', async () => {
    const bad: UnitValue[][] = [
      [{ valueReference: { reference: 'Patient/sikte-a' } }],
      [{ valueString: `${ENH}|` }],
      [{ valueString: 'a,b' }],
      [{ valueString: 'sikte-a' }, { valueString: 'sikte-b' }],
    ];
    for (const units of bad) expectRefused(await ask('2026-10', ...units), 400, 'invalid');
  });

  it('no unit: every unit with pathways, each its own run, by reference; one that fails undoes no other', async () => {
    const res = await ask('2026-11');
    expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
    const parts = named(res.body, 'unit-report');
    const unitOf = (p: ParametersParameter) => named(p, 'unit')[0].valueReference?.reference;
    expect(parts.map(unitOf)).toEqual(['Organization/nedlagt-hf', 'Organization/sikte-a', 'Organization/sikte-b']);
    const [closed, a, b] = parts;
    // the closed-down unit: its failure, as an OperationOutcome naming unit; no report
    const failure = named(closed, 'outcome')[0].resource as OperationOutcome;
    expect(failure.issue[0]).toMatchObject({ code: 'not-found', expression: ['unit'] });
    expect(named(closed, 'report')).toEqual([]);
    expect((await t.http().get('/fhir/Bundle/npr-nedlagt-hf-2026-11')).status).toBe(404);
    // the others: by reference, with their counts, and stored
    expect(named(b, 'report')[0].valueReference?.reference).toBe('Bundle/npr-sikte-b-2026-11');
    expect(named(b, 'problems')[0].valueReference?.reference).toBe('OperationOutcome/npr-sikte-b-2026-11-problems');
    expect(named(b, 'codes')[0].valueInteger).toBe(1);
    expect(named(b, 'changed')[0].valueBoolean).toBe(true);
    expect(named(a, 'codes')[0].valueInteger).toBe(0);
    const stored = (await t.http().get('/fhir/Bundle/npr-sikte-b-2026-11')).body as Bundle;
    const subject = plans['sikte-b'].subject?.reference;
    expect(reportedCodes(stored)).toEqual([{ subject, code: 'D11M', when: '2026-11-10' }]);
    const job = await t.http().get(`/fhir/${named(b, 'job')[0].valueReference?.reference}`);
    expect(job.body.status).toBe('completed');
    const failed = await t.http().get('/fhir/Task').query({ code: JOB, status: 'failed' });
    const described = failed.body.entry.map((e: { resource: { description: string } }) => e.resource.description);
    expect(described).toContain('NPR report 2026-11 for Organization/nedlagt-hf');
  });

  it('the command uses the server’s BASE_URL: its run, then one over HTTP on the same data: one version', async () => {
    const command = (args: string[]) =>
      spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/forlop.js'), 'registry-report', ...args], {
        env: { ...process.env, DATABASE_URL: t.databaseUrl, BASE_URL: BASE, REGISTRY_OUTBOX: '' },
        encoding: 'utf8',
        timeout: 120_000,
      });
    // named by its organisasjonsnummer, as over HTTP
    const made = command(['--period', '2026-T3', '--unit', ORGNR_B]);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toBe('2026-T3 sikte-b: 2 codes in 1 episodes, 0 with problems → Bundle/npr-sikte-b-2026-T3\n');
    expect(await version('npr-sikte-b-2026-T3')).toBe('1');
    const res = await ask('2026-T3', { valueString: `${ENH}|${ORGNR_B}` });
    expect(res.status).toBe(200);
    expect(unitAnswer(res.body).changed).toBe(false);
    expect(await version('npr-sikte-b-2026-T3')).toBe('1');
    expect((await t.http().get('/fhir/Bundle/npr-sikte-b-2026-T3/_history')).body.total).toBe(1);
    // a name that fits no unit, or several: exit 2, the reason on stderr, nothing run
    const unknown = command(['--period', '2026-T3', '--unit', '4200000']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("no Organization is known as '4200000'");
    const twins = command(['--period', '2026-T3', '--unit', '4209876']);
    expect(twins.status).toBe(2);
    expect(twins.stderr).toContain('more than one Organization');
    expect(await reports('Organization/tvilling-2')).toBe(0);
  }, 240_000);
});
