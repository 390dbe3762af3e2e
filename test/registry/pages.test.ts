import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, OperationOutcomeIssue, Procedure, Resource, Task } from '@medplum/fhirtypes';
import { parsePeriod } from '../../src/registry/period.js';
import { runRegistryReport } from '../../src/registry/run.js';
import { BACKENDS } from '../support/backends.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { completeMilestone, milestone, usePathways } from '../pathways/support.js';
import { applyByPost, reportPatient } from './support.js';

const PERIOD_TAG = 'http://forlop.no/fhir/CodeSystem/npr-report-period';
const UNIT_TAG = 'http://forlop.no/fhir/NamingSystem/npr-reporting-unit';

/**
 * A report larger than a page (REGISTRY_PAGE_SIZE; 4 codes here): stored as linked pages, each a
 * complete report Bundle, validated in a worker thread; the outbox gets the whole report.
 */
describe.each(BACKENDS)('NPR registry report in pages, on $name', (backend) => {
  const outbox = mkdtempSync(join(tmpdir(), 'forlop-pages-'));
  const t = useServer(backend, { registryOutbox: outbox, registryPageSize: 4 });
  usePathways(t);
  const unit = (id: string, eight: string) => ({
    resourceType: 'Organization',
    id,
    name: `Enhet ${id}`,
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber(eight) }],
  });
  const run = (unitId: string) =>
    t
      .http()
      .post('/fhir/$registry-report')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'period', valueString: '2026-10' },
          { name: 'unit', valueReference: { reference: `Organization/${unitId}` } },
        ],
      });
  const param = (
    body: { parameter: { name: string; valueBoolean?: boolean; valueReference?: { reference: string } }[] },
    name: string,
  ) => body.parameter.filter((p) => p.name === name);
  const read = async (reference: string) => (await t.http().get(`/fhir/${reference}`)).body as Bundle;
  const codes = (b: Bundle) =>
    (b.entry ?? [])
      .map((e) => e.resource as Resource)
      .filter((r): r is Procedure => r.resourceType === 'Procedure')
      .map((p) => `${p.subject?.reference} ${p.code?.coding?.[0].code} ${p.performedDateTime}`);
  const versions = async (id: string) => (await t.http().get(`/fhir/Bundle/${id}/_history`)).body.total as number;
  const plans: CarePlan[] = [];
  const expected: string[] = [];

  /** Five patients of one unit with two codes each in October: 10 codes, pages of 2 patients. */
  const applyFor = async (unitId: string, count: number, into: CarePlan[], codesInto: string[]) => {
    for (let i = 0; i < count; i++) {
      const subject = await reportPatient(t);
      const plan = await applyByPost(t, 'D11', {
        subject,
        start: `2026-10-0${2 + i}`,
        organization: `Organization/${unitId}`,
      });
      into.push(plan);
      expect((await completeMilestone(t, plan, 'first-attendance', `2026-10-1${i}`)).status).toBe(200);
      codesInto.push(`${subject} D11A 2026-10-0${2 + i}`, `${subject} D11M 2026-10-1${i}`);
    }
  };

  beforeAll(async () => {
    for (const org of [unit('side-hf', '96543218'), unit('feil-hf', '95432189')]) {
      expect((await t.http().put(`/fhir/Organization/${org.id}`).set('Content-Type', FHIR_JSON).send(org)).status).toBe(
        201,
      );
    }
    // after the last date recorded here (milestones are recorded once they have happened)
    t.clock.set(new Date('2026-10-21T09:00:00Z'));
    await applyFor('side-hf', 5, plans, expected);
  });

  it('stored as linked pages, each a complete report of its own; the outbox file holds the report whole', async () => {
    const res = await run('side-hf');
    expect(res.status, JSON.stringify(res.body).slice(0, 1500)).toBe(200);
    const pages = param(res.body, 'page').map((p) => p.valueReference?.reference as string);
    expect(pages).toEqual([
      'Bundle/npr-side-hf-2026-10',
      'Bundle/npr-side-hf-2026-10-p2',
      'Bundle/npr-side-hf-2026-10-p3',
    ]);
    expect(param(res.body, 'report')[0]).toMatchObject({ resource: { id: 'npr-side-hf-2026-10' } });
    const stored = await Promise.all(pages.map(read));
    // page by page: the unit first, the page's patients, their codes; every page meets the profile
    for (const [n, page] of stored.entries()) {
      expect(page.entry?.[0].resource).toMatchObject({ resourceType: 'Organization', id: 'side-hf' });
      const patients = new Set(
        (page.entry ?? [])
          .filter((e) => e.resource?.resourceType === 'Patient')
          .map((e) => `Patient/${e.resource?.id}`),
      );
      expect(codes(page).every((c) => patients.has(c.split(' ')[0]))).toBe(true);
      expect(codes(page).length).toBeLessThanOrEqual(4);
      expect(page.identifier?.value).toBe(`${organisationNumber('96543218')}/2026-10${n === 0 ? '' : `/${n + 1}`}`);
      const validated = await t.http().post('/fhir/Bundle/$validate').set('Content-Type', FHIR_JSON).send(page);
      expect(validated.body.issue.filter((i: OperationOutcomeIssue) => i.severity === 'error')).toEqual([]);
    }
    // linked in order, as search results are (previous / next)
    expect(stored.map((p) => (p.link ?? []).map((l) => `${l.relation} ${l.url?.split('/').pop()}`))).toEqual([
      ['next npr-side-hf-2026-10-p2'],
      ['previous npr-side-hf-2026-10', 'next npr-side-hf-2026-10-p3'],
      ['previous npr-side-hf-2026-10-p2'],
    ]);
    expect(stored.flatMap(codes).sort()).toEqual([...expected].sort());
    // found by period and unit
    const found = await t
      .http()
      .get('/fhir/Bundle')
      .query({ _tag: [`${PERIOD_TAG}|2026-10`, `${UNIT_TAG}|${organisationNumber('96543218')}`] });
    expect(found.body.entry.map((e: { resource: Bundle }) => e.resource.id).sort()).toEqual(
      pages.map((p) => p.split('/')[1]).sort(),
    );
    // the files: the whole report as one Bundle, and a resource a line
    const whole = JSON.parse(readFileSync(join(outbox, 'npr-side-hf-2026-10.json'), 'utf8')) as Bundle;
    expect(whole).toMatchObject({
      resourceType: 'Bundle',
      id: 'npr-side-hf-2026-10',
      type: 'collection',
      identifier: { value: `${organisationNumber('96543218')}/2026-10` },
    });
    expect(whole.entry?.filter((e) => e.resource?.resourceType === 'Organization')).toHaveLength(1);
    expect(codes(whole).sort()).toEqual([...expected].sort());
    expect(whole.timestamp).toBe(
      stored
        .map((p) => p.timestamp as string)
        .sort()
        .pop(),
    );
    const wholeValid = await t.http().post('/fhir/Bundle/$validate').set('Content-Type', FHIR_JSON).send(whole);
    expect(wholeValid.body.issue.filter((i: OperationOutcomeIssue) => i.severity === 'error')).toEqual([]);
    const lines = readFileSync(join(outbox, 'npr-side-hf-2026-10.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Resource);
    expect(lines.map((r) => r.resourceType)).toEqual(whole.entry?.map((e) => e.resource?.resourceType));
    expect(readdirSync(outbox).some((f) => f.endsWith('.tmp'))).toBe(false);
    // the job records the pages
    const job = (await t.http().get(`/fhir/${param(res.body, 'job')[0].valueReference?.reference}`)).body as Task;
    const out = Object.fromEntries(
      (job.output ?? []).map((o) => [o.type.text, o.valueInteger ?? o.valueBoolean ?? o.valueReference?.reference]),
    );
    expect(out).toMatchObject({
      pages: 3,
      codes: 10,
      episodes: 5,
      changed: true,
      report: 'Bundle/npr-side-hf-2026-10',
    });
  });

  it('a re-run changes nothing; a correction writes only its page; a shrunk report deletes the pages it no longer has', async () => {
    const ids = ['npr-side-hf-2026-10', 'npr-side-hf-2026-10-p2', 'npr-side-hf-2026-10-p3'];
    const again = await run('side-hf');
    expect(param(again.body, 'changed')[0].valueBoolean).toBe(false);
    expect(await Promise.all(ids.map(versions))).toEqual([1, 1, 1]);
    // the last patient's first attendance was on the 20th, not the date first recorded
    const last = plans[4];
    const attendance = await milestone(t, last, 'first-attendance');
    expect(
      (
        await t
          .http()
          .put(`/fhir/Task/${attendance.id}`)
          .set('Content-Type', FHIR_JSON)
          .send({ ...attendance, executionPeriod: { start: '2026-10-20', end: '2026-10-20' } })
      ).status,
    ).toBe(200);
    const corrected = await run('side-hf');
    expect(param(corrected.body, 'changed')[0].valueBoolean).toBe(true);
    // patients are paged in the order of their ids: only the page holding this one's codes is new
    const pages = await Promise.all(ids.map((id) => read(`Bundle/${id}`)));
    const at = pages.findIndex((p) => codes(p).includes(`${last.subject?.reference} D11M 2026-10-20`));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(await Promise.all(ids.map(versions))).toEqual(ids.map((_, i) => (i === at ? 2 : 1)));
    // the last patient's pathway is gone: two pages are left, the third is deleted
    expect((await t.http().delete(`/fhir/CarePlan/${last.id}`)).status).toBe(204);
    const shrunk = await run('side-hf');
    expect(param(shrunk.body, 'page').map((p) => p.valueReference?.reference)).toEqual([
      'Bundle/npr-side-hf-2026-10',
      'Bundle/npr-side-hf-2026-10-p2',
    ]);
    expect((await t.http().get(`/fhir/Bundle/${ids[2]}`)).status).toBe(410);
    expect((await read(`Bundle/${ids[1]}`)).link?.map((l) => l.relation)).toEqual(['previous']);
  });

  it('pages are validated in a worker thread: a page that does not meet the profile fails the run whole, nothing of it kept', async () => {
    const others: CarePlan[] = [];
    await applyFor('feil-hf', 3, others, []);
    // the unit's organisasjonsnummer is made wrong behind the server's back (as lenient storage or an old version
    // could leave it)
    await t.services.store.transaction(async (tx) => {
      const prev = await t.services.store.current('Organization', 'feil-hf', tx);
      await t.services.store.write(
        tx,
        'Organization',
        'feil-hf',
        prev,
        {
          ...unit('feil-hf', '95432189'),
          identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '123456789' }],
        } as Resource,
        'PUT',
      );
    });
    // the validator of this thread is not asked: the pages went to the worker
    let asked = 0;
    const inThread = t.services.validator;
    const validator: typeof inThread = {
      validate: (resource, options) => {
        if (resource.resourceType === 'Bundle') asked++;
        return inThread.validate(resource, options);
      },
      supportedProfiles: (type) => inThread.supportedProfiles(type),
    };
    const failing = runRegistryReport(
      { ...t.services, validator },
      { period: parsePeriod('2026-10'), unit: 'feil-hf', outbox },
    );
    await expect(failing).rejects.toThrow(/does not meet its profile/);
    expect(asked).toBe(0);
    expect((await t.http().get('/fhir/Bundle/npr-feil-hf-2026-10')).status).toBe(404);
    expect((await t.http().get('/fhir/Bundle/npr-feil-hf-2026-10-p2')).status).toBe(404);
    expect(readdirSync(outbox).filter((f) => f.startsWith('npr-feil-hf'))).toEqual([]);
    const failed = await t
      .http()
      .get('/fhir/Task')
      .query({ code: 'http://forlop.no/fhir/CodeSystem/job|npr-report', status: 'failed' });
    expect(failed.body.entry.map((e: { resource: Task }) => e.resource.statusReason?.text).join()).toMatch(
      /organisasjonsnummer|does not meet its profile/,
    );
    // over HTTP the same run is refused with 422 and the reason
    const res = await run('feil-hf');
    expect(res.status).toBe(422);
    expect(res.body.issue[0].diagnostics).toMatch(/does not meet its profile/);
  });
});
