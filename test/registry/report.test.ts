import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, OperationOutcome, Procedure, Task } from '@medplum/fhirtypes';
import { parsePeriod, previousMonth } from '../../src/registry/period.js';
import { runRegistryReport } from '../../src/registry/run.js';
import { DEFAULT_REGISTRY_CRON, registryTask, runScheduledReports } from '../../src/registry/schedule.js';
import { spawnSync } from 'node:child_process';
import { BACKENDS } from '../support/backends.js';
import { startChildServer } from '../support/child-server.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { completeMilestone, milestone, usePathways } from '../pathways/support.js';
import { applyByPost, reportPatient } from './support.js';

const PATHWAYS = ['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12'];

describe('reporting periods', () => {
  it('months, cumulative tertials and years; the month before, in Oslo', () => {
    expect(parsePeriod('2026-10')).toEqual({ label: '2026-10', start: '2026-10-01', end: '2026-11-01' });
    expect(parsePeriod('2026-12')).toEqual({ label: '2026-12', start: '2026-12-01', end: '2027-01-01' });
    expect(parsePeriod('2026-T2')).toEqual({ label: '2026-T2', start: '2026-01-01', end: '2026-09-01' });
    expect(parsePeriod('2026')).toEqual({ label: '2026', start: '2026-01-01', end: '2027-01-01' });
    expect(() => parsePeriod('2026-13')).toThrow(/period/);
    // 23:30 UTC on 31 October is 1 November in Oslo: the month before is October
    expect(previousMonth(new Date('2026-10-31T23:30:00Z')).label).toBe('2026-10');
    expect(previousMonth(new Date('2026-01-01T00:30:00+01:00')).label).toBe('2025-12');
  });
});

describe.each(BACKENDS)('NPR registry report, on $name', (backend) => {
  const outbox = mkdtempSync(join(tmpdir(), 'forlop-outbox-'));
  const t = useServer(backend, { registryOutbox: outbox });
  usePathways(t);
  const unit = (id: string, eight: string) => ({
    resourceType: 'Organization',
    id,
    name: `Enhet ${id}`,
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber(eight) }],
  });
  const report = async (period: string, unitId: string) => {
    const res = await t
      .http()
      .post('/fhir/$registry-report')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'period', valueString: period },
          { name: 'unit', valueReference: { reference: `Organization/${unitId}` } },
        ],
      });
    expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
    const get = (name: string) => res.body.parameter.find((p: { name: string }) => p.name === name);
    return {
      bundle: get('report').resource as Bundle,
      problems: get('problems').resource as OperationOutcome,
      changed: get('changed').valueBoolean as boolean,
      job: get('job').valueReference.reference as string,
    };
  };
  const codes = (b: Bundle) =>
    (b.entry ?? [])
      .filter((e) => e.resource?.resourceType === 'Procedure')
      .map((e) => {
        const p = e.resource as Procedure;
        return [p.subject?.reference, p.code?.coding?.[0].code, p.performedDateTime];
      });
  const carePlans: Record<string, CarePlan> = {};
  const subjects: Record<string, string> = {};

  beforeAll(async () => {
    for (const org of [unit('psyk-hf', '97654321'), unit('annet-hf', '91234568')]) {
      expect((await t.http().put(`/fhir/Organization/${org.id}`).set('Content-Type', FHIR_JSON).send(org)).status).toBe(
        201,
      );
    }
    // after the last date recorded here (milestones are recorded once they have happened)
    t.clock.set(new Date('2026-11-05T09:00:00Z'));
    for (const [i, code] of PATHWAYS.entries()) {
      const child = code === 'D12' || code === 'D08' || code === 'D10';
      const subject = await reportPatient(t, child ? '2012-06-01' : '1990-03-15');
      subjects[code] = subject;
      const severity: Record<string, string> = code === 'D08' ? { severity: 'alvorlig' } : {};
      carePlans[code] = await applyByPost(t, code, {
        subject,
        start: `2026-10-0${2 + (i % 5)}`,
        organization: 'Organization/psyk-hf',
        ...severity,
      });
      const done = await completeMilestone(t, carePlans[code], 'first-attendance', `2026-10-1${i % 10}`);
      expect(done.status, JSON.stringify(done.body)).toBe(200);
    }
    // D11 goes on: a clinical decision in October, an evaluation in November (next period)
    expect(
      (
        await completeMilestone(t, carePlans.D11, 'clinical-decision', '2026-10-28', {
          output: [
            {
              type: { text: 'Utfall' },
              valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9323', code: 'P' }] },
            },
          ],
        })
      ).status,
    ).toBe(200);
    expect((await completeMilestone(t, carePlans.D11, 'first-evaluation', '2026-11-03')).status).toBe(200);
    // another unit's pathway is not in this unit's report
    const other = await applyByPost(t, 'D11', {
      subject: await reportPatient(t),
      start: '2026-10-05',
      organization: 'Organization/annet-hf',
    });
    expect(other.id).toBeDefined();
  });

  it('a month with codes for every pathway: the unit, each patient once, one Procedure per code recorded in the period — checked entry by entry', async () => {
    const { bundle, problems, changed } = await report('2026-10', 'psyk-hf');
    expect(changed).toBe(true);
    expect(bundle).toMatchObject({
      resourceType: 'Bundle',
      id: 'npr-psyk-hf-2026-10',
      type: 'collection',
      identifier: {
        system: 'http://forlop.no/fhir/NamingSystem/npr-report',
        value: `${organisationNumber('97654321')}/2026-10`,
      },
    });
    expect(bundle.entry?.[0].resource).toMatchObject({ resourceType: 'Organization', id: 'psyk-hf' });
    const expected = PATHWAYS.flatMap((code, i) => [
      [subjects[code], `${code}A`, `2026-10-0${2 + (i % 5)}`],
      [subjects[code], `${code}M`, `2026-10-1${i % 10}`],
    ]);
    expected.push([subjects.D11, 'D11CP', '2026-10-28']);
    const key = (c: (string | undefined)[]) => c.join('|');
    expect(codes(bundle).map(key).sort()).toEqual(expected.map(key).sort());
    const patients = bundle.entry
      ?.filter((e) => e.resource?.resourceType === 'Patient')
      .map((e) => `Patient/${e.resource?.id}`);
    expect(patients?.sort()).toEqual(PATHWAYS.map((c) => subjects[c]).sort());
    const decision = bundle.entry
      ?.map((e) => e.resource)
      .find((r) => r?.resourceType === 'Procedure' && (r as Procedure).code?.coding?.[0].code === 'D11CP') as Procedure;
    expect(decision).toMatchObject({
      status: 'completed',
      category: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.8410', code: 'T' }] },
      basedOn: [{ reference: `CarePlan/${carePlans.D11.id}` }],
      code: {
        coding: [
          { system: 'urn:oid:2.16.578.1.12.4.1.1.9327', code: 'D11CP' },
          { code: 'D11' },
          { code: 'C' },
          { code: 'P' },
        ],
      },
    });
    expect(problems.issue[0].severity).toBe('information');
    // stored, searchable by period and unit, and validated against its profile
    const found = await t
      .http()
      .get('/fhir/Bundle')
      .query({ _tag: 'http://forlop.no/fhir/CodeSystem/npr-report-period|2026-10' });
    expect(found.body.entry.map((e: { resource: Bundle }) => e.resource.id)).toContain('npr-psyk-hf-2026-10');
    const byUnit = await t
      .http()
      .get('/fhir/Bundle')
      .query({ identifier: `http://forlop.no/fhir/NamingSystem/npr-report|${organisationNumber('97654321')}/2026-10` });
    expect(byUnit.body.entry).toHaveLength(1);
    const validated = await t.http().post('/fhir/Bundle/$validate').set('Content-Type', FHIR_JSON).send(bundle);
    expect(validated.body.issue.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
    // and written to the outbox, whole: JSON, NDJSON (a resource a line) and the problems
    const files = readdirSync(outbox).filter((f) => f.startsWith('npr-psyk-hf-2026-10'));
    expect(files.sort()).toEqual([
      'npr-psyk-hf-2026-10.json',
      'npr-psyk-hf-2026-10.ndjson',
      'npr-psyk-hf-2026-10.problems.json',
    ]);
    expect(JSON.parse(readFileSync(join(outbox, 'npr-psyk-hf-2026-10.json'), 'utf8')).entry).toHaveLength(
      bundle.entry?.length as number,
    );
    expect(readFileSync(join(outbox, 'npr-psyk-hf-2026-10.ndjson'), 'utf8').trim().split('\n')).toHaveLength(
      bundle.entry?.length as number,
    );
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('the run is recorded as a job Task with its counts', async () => {
    const { job } = await report('2026-10', 'psyk-hf');
    const task = (await t.http().get(`/fhir/${job}`)).body as Task;
    expect(task).toMatchObject({ status: 'completed', code: { coding: [{ code: 'npr-report' }] } });
    const out = Object.fromEntries(
      (task.output ?? []).map((o) => [o.type.text, o.valueInteger ?? o.valueBoolean ?? o.valueReference?.reference]),
    );
    expect(out).toMatchObject({
      codes: 17,
      episodes: 8,
      'codes with problems': 0,
      changed: false,
      report: 'Bundle/npr-psyk-hf-2026-10',
    });
    expect(task.executionPeriod?.end).toBeDefined();
  });

  it('re-running the same period over the same data changes nothing; a late correction is picked up as a new version', async () => {
    const again = await report('2026-10', 'psyk-hf');
    expect(again.changed).toBe(false);
    const versions = async () => (await t.http().get('/fhir/Bundle/npr-psyk-hf-2026-10/_history')).body.total;
    const before = await versions();
    // a late correction: the D06 first attendance was on 12 October, not the date first recorded
    const task = await milestone(t, carePlans.D06, 'first-attendance');
    expect(
      (
        await t
          .http()
          .put(`/fhir/Task/${task.id}`)
          .set('Content-Type', FHIR_JSON)
          .send({ ...task, executionPeriod: { start: '2026-10-12', end: '2026-10-12' } })
      ).status,
    ).toBe(200);
    const corrected = await report('2026-10', 'psyk-hf');
    expect(corrected.changed).toBe(true);
    expect(codes(corrected.bundle)).toContainEqual([subjects.D06, 'D06M', '2026-10-12']);
    expect(await versions()).toBe(before + 1);
  });

  it('the next period holds only its own codes; another unit only its own', async () => {
    const november = await report('2026-11', 'psyk-hf');
    expect(codes(november.bundle)).toEqual([[subjects.D11, 'D11E', '2026-11-03']]);
    const other = await report('2026-10', 'annet-hf');
    expect(codes(other.bundle).map((c) => c[1])).toEqual(['D11A']);
  });

  it('codes with problems are left out and listed with their NPR feedback codes (100 no person number, 107 no time)', async () => {
    t.clock.set(new Date('2026-12-04T09:00:00Z'));
    const anonymous = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family: 'Uten', given: ['Nummer'] }] });
    const plan = await applyByPost(t, 'D11', {
      subject: `Patient/${anonymous.body.id}`,
      start: '2026-12-01',
      organization: 'Organization/psyk-hf',
    });
    const named = await applyByPost(t, 'D11', {
      subject: await reportPatient(t),
      start: '2026-12-01',
      organization: 'Organization/psyk-hf',
    });
    const attendance = await milestone(t, named, 'first-attendance');
    const undated = { ...attendance, status: 'completed', executionPeriod: { start: '2026-12-03' } } as Task;
    // the API now refuses a completion without its date; data stored before that rule (or imported) can still lack it
    const refused = await t.http().put(`/fhir/Task/${attendance.id}`).set('Content-Type', FHIR_JSON).send(undated);
    expect(refused.status).toBe(422);
    expect(refused.body.issue[0].expression).toEqual(['Task.executionPeriod.end']);
    await t.services.store.transaction(async (tx) => {
      const prev = await t.services.store.current('Task', attendance.id as string, tx);
      await t.services.store.write(tx, 'Task', attendance.id as string, prev, undated, 'PUT');
    });
    const { bundle, problems } = await report('2026-12', 'psyk-hf');
    expect(codes(bundle).map((c) => c[1])).toEqual(['D11A']);
    const feedback = problems.issue.map((i) => [i.details?.coding?.[0].code, i.expression?.[0]]);
    expect(feedback).toContainEqual(['100', `Task/${(await milestone(t, plan, 'start')).id}`]);
    expect(feedback).toContainEqual(['107', `Task/${attendance.id}`]);
    expect(problems.issue.every((i) => i.details?.coding?.[0].system === 'urn:oid:2.16.578.1.12.4.1.1.9329')).toBe(
      true,
    );
  });

  it('a run that dies while storing leaves the earlier report as it was; the next run completes it', async () => {
    const stored = async () => (await t.http().get('/fhir/Bundle/npr-psyk-hf-2026-T3')).status;
    const before = await stored();
    const store = Object.create(t.services.store) as typeof t.services.store;
    store.write = async (...args: Parameters<typeof t.services.store.write>) => {
      if (args[1] === 'OperationOutcome') throw new Error('simulated crash after the Bundle was written');
      return t.services.store.write(...args);
    };
    await expect(
      runRegistryReport({ ...t.services, store }, { period: parsePeriod('2026-T3'), unit: 'psyk-hf' }),
    ).rejects.toThrow(/simulated crash/);
    expect(await stored()).toBe(before === 200 ? 200 : 404);
    const failed = await t
      .http()
      .get('/fhir/Task')
      .query({ code: 'http://forlop.no/fhir/CodeSystem/job|npr-report', status: 'failed' });
    expect(failed.body.entry[0].resource.statusReason.text).toContain('simulated crash');
    const { changed, bundle } = await report('2026-T3', 'psyk-hf');
    expect(changed).toBe(true);
    expect(codes(bundle).length).toBeGreaterThan(17);
  });

  it('the schedule: its cron expression and time zone decide when (no waiting: the task is asked), and a run reports the month before for every unit', async () => {
    const log: Record<string, unknown>[] = [];
    const oslo = registryTask(t.services, DEFAULT_REGISTRY_CRON, 'Europe/Oslo', (e) => log.push(e));
    const utc = registryTask(t.services, '30 6 1 * *', 'UTC', (e) => log.push(e));
    try {
      expect(oslo.match(new Date('2026-11-02T02:00:00Z'))).toBe(true); // 03:00 in Oslo (CET)
      expect(oslo.match(new Date('2026-11-02T03:00:00Z'))).toBe(false);
      expect(oslo.match(new Date('2026-07-02T01:00:00Z'))).toBe(true); // 03:00 in Oslo (CEST)
      expect(oslo.match(new Date('2026-11-03T02:00:00Z'))).toBe(false);
      expect(utc.match(new Date('2026-12-01T06:30:00Z'))).toBe(true);
    } finally {
      await oslo.destroy();
      await utc.destroy();
    }
    t.clock.set(new Date('2026-11-02T02:00:00Z'));
    const results = await runScheduledReports(t.services, (e) => log.push(e));
    expect(results.map((r) => r.firstPage.id).sort()).toEqual(['npr-annet-hf-2026-10', 'npr-psyk-hf-2026-10']);
    expect(log.filter((e) => e.msg === 'registry report').map((e) => e.period)).toEqual(['2026-10', '2026-10']);
  });

  it('the command: npx forlop registry-report --period --unit --out, on the same database', async () => {
    const out = join(outbox, 'cli-report.json');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/forlop.js'), 'registry-report', ...args], {
        env: { ...process.env, DATABASE_URL: t.databaseUrl, BASE_URL: BASE, REGISTRY_OUTBOX: '' },
        encoding: 'utf8',
        timeout: 120_000,
      });
    const ok = run(['--period', '2026-10', '--unit', 'psyk-hf', '--out', out]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      '2026-10 psyk-hf: 17 codes in 8 episodes, 0 with problems (unchanged) → Bundle/npr-psyk-hf-2026-10',
    );
    expect((JSON.parse(readFileSync(out, 'utf8')) as Bundle).id).toBe('npr-psyk-hf-2026-10');
    expect(run([]).status).toBe(2);
    expect(run(['--period', 'last-month']).status).toBe(2);
  }, 180_000);

  it('bad input: 400 naming the parameter; an unknown unit 404; no unit: every unit', async () => {
    const post = (parameter: object[]) =>
      t
        .http()
        .post('/fhir/$registry-report')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Parameters', parameter });
    expect((await post([{ name: 'unit', valueString: 'Organization/psyk-hf' }])).body.issue[0].expression).toEqual([
      'period',
    ]);
    expect(
      (
        await post([
          { name: 'period', valueString: '2026-13' },
          { name: 'unit', valueString: 'Organization/psyk-hf' },
        ])
      ).status,
    ).toBe(400);
    // no unit is no longer an error: every unit with pathways is reported (aim.test.ts covers it)
    const every = await post([{ name: 'period', valueString: '2026-10' }]);
    expect(every.status).toBe(200);
    type UnitReport = { part: { name: string; valueReference?: { reference: string } }[] };
    const units = every.body.parameter.map((p: UnitReport) => p.part[0].valueReference?.reference);
    expect(units).toEqual(['Organization/annet-hf', 'Organization/psyk-hf']);
    const two = [
      { name: 'unit', valueString: 'Organization/psyk-hf' },
      { name: 'unit', valueString: 'annet-hf' },
    ];
    expect((await post([{ name: 'period', valueString: '2026-10' }, ...two])).body.issue[0].expression).toEqual([
      'unit',
    ]);
    expect(
      (
        await post([
          { name: 'period', valueString: '2026-10' },
          { name: 'unit', valueString: 'Organization/ghost' },
        ])
      ).status,
    ).toBe(404);
  });

  it('two runs at once — here, and in a second server process on the same database — store one report', async () => {
    // the same public base URL, as API nodes behind one load balancer have
    const child = await startChildServer(t.databaseUrl, { BASE_URL: BASE });
    try {
      const body = JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'period', valueString: '2026' },
          { name: 'unit', valueString: 'Organization/psyk-hf' },
        ],
      });
      const [a, b, c] = await Promise.all([
        fetch(`${child.baseUrl}/fhir/$registry-report`, {
          method: 'POST',
          headers: { 'Content-Type': FHIR_JSON },
          body,
        }),
        t.http().post('/fhir/$registry-report').set('Content-Type', FHIR_JSON).send(body),
        t.http().post('/fhir/$registry-report').set('Content-Type', FHIR_JSON).send(body),
      ]);
      expect([a.status, b.status, c.status], JSON.stringify([c.body]).slice(0, 1500)).toEqual([200, 200, 200]);
      const history = await t.http().get('/fhir/Bundle/npr-psyk-hf-2026/_history');
      expect(history.body.total).toBe(1);
    } finally {
      await child.stop();
    }
    expect(existsSync(join(outbox, 'npr-psyk-hf-2026.json'))).toBe(true);
  });
});
