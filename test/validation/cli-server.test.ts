import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, BundleEntry, CarePlan, Task } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useFixtures, useServer, type TestServer } from '../support/server.js';
import { milestone, newPatient, usePathways } from '../pathways/support.js';
import { forlop, summaryRow } from './cli-support.js';

const NPR = 'urn:oid:2.16.578.1.12.4.1.1.9329';
const UNIT = {
  resourceType: 'Organization',
  id: 'cli-unit',
  name: 'DPS Kommandolinje',
  identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber('98765432') }],
};
const DECIDED = {
  output: [
    {
      type: { text: 'Utfall' },
      valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9323', code: 'P' }] },
    },
  ],
};

/** The test server on a free loopback port, for a `forlop validate --server` process to call. */
function listening(t: TestServer): { base: () => string } {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = t.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/fhir`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { base: () => base };
}

/** `forlop validate --server`: each resource to the server's `$validate`; a Bundle dry-run on the server's data. */
describe.each(BACKENDS)('forlop validate --server, on $name', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => [UNIT]);
  usePathways(t);
  const { base } = listening(t);
  let dir: string;
  let carePlan: CarePlan;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'forlop-cli-server-'));
    const subject = await newPatient(t, '1971-05-02');
    const res = await t
      .http()
      .post('/fhir/PlanDefinition/pathway-D11/$apply')
      .query({ subject, start: '2026-03-02', organization: `Organization/${UNIT.id}` })
      .set('Content-Type', FHIR_JSON)
      .send();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    carePlan = res.body as CarePlan;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const completing = async (actionId: string, date: string): Promise<BundleEntry> => {
    const task = await milestone(t, carePlan, actionId);
    const more = actionId === 'clinical-decision' ? DECIDED : {};
    const resource: Task = { ...task, status: 'completed', executionPeriod: { start: date, end: date }, ...more };
    return {
      fullUrl: `${t.services.baseUrl}/Task/${task.id}`,
      resource,
      request: { method: 'PUT', url: `Task/${task.id}` },
    };
  };
  const file = (name: string, content: object) => {
    writeFileSync(join(dir, name), JSON.stringify(content));
    return join(dir, name);
  };
  const versions = async () =>
    Number((await t.storage.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM history'))?.n);

  it('a milestone out of NPR order: the NPR code at its entry, from the server; nothing stored', async () => {
    const path = file('out-of-order.json', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [await completing('clinical-decision', '2026-03-10')],
    } satisfies Bundle);
    const before = await versions();
    const run = await forlop(path, '--server', base());
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /out-of-order\.json {2}\(Bundle\)\n {2}error +Bundle\.entry\[0\]\.resource\.status +NPR 208/,
    );
    expect(summaryRow(run)).toEqual(['1', '2', '1', '1', '0']);
    const json = JSON.parse((await forlop(path, '--server', base(), '--format', 'json')).stdout);
    expect(json.results[0].issues[0]).toMatchObject({
      severity: 'error',
      code: 'business-rule',
      expression: ['Bundle.entry[0].resource.status'],
    });
    expect(json.results[0].issues[0].details.coding[0]).toMatchObject({ system: NPR, code: '208' });
    expect(await versions()).toBe(before);
    expect((await milestone(t, carePlan, 'clinical-decision')).status).toBe('requested');
  });

  it("a valid Bundle is clean; each resource goes to its type's $validate; an unknown type is not sent", async () => {
    const valid = file('in-order.json', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [await completing('first-attendance', '2026-03-05'), await completing('clinical-decision', '2026-03-10')],
    } satisfies Bundle);
    const patient = file('patient.json', { resourceType: 'Patient', birthDate: 'tomorrow' });
    const misspelt = file('misspelt.json', { resourceType: 'Pateint' });
    const before = await versions();
    const run = await forlop(valid, patient, misspelt, '--server', base(), '--format', 'json');
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout);
    // resources: the Bundle and its 2 entries, the Patient, the misspelt one; valid: the Bundle's 3
    expect(report.summary).toEqual({ files: 3, resources: 5, valid: 3, errors: 2, warnings: 0, information: 0 });
    const byFile = Object.fromEntries(
      report.results.map((r: { file: string; issues: unknown[] }) => [r.file.split('/').at(-1), r.issues]),
    );
    expect(byFile['in-order.json']).toBeUndefined();
    expect(byFile['patient.json']).toEqual([
      expect.objectContaining({ severity: 'error', expression: ['Patient.birthDate'] }),
    ]);
    expect(byFile['misspelt.json']).toEqual([
      expect.objectContaining({
        severity: 'error',
        expression: ['resourceType'],
        diagnostics: expect.stringContaining('did you mean Patient?'),
      }),
    ]);
    expect(await versions()).toBe(before);
    expect((await milestone(t, carePlan, 'first-attendance')).status).toBe('requested');
  });

  it('--profile is sent as the profile parameter', async () => {
    const path = file('named.json', { resourceType: 'Patient', name: [{ family: 'Dahl' }] });
    const run = await forlop(
      path,
      '--server',
      base(),
      '--format',
      'json',
      '--profile',
      'http://forlop.no/fhir/StructureDefinition/forlop-practitioner',
    );
    expect(run.code).toBe(1);
    const [issue] = JSON.parse(run.stdout).results[0].issues;
    expect(issue).toMatchObject({ severity: 'error', expression: ['Patient'] });
    expect(issue.diagnostics).toContain('is for Practitioner');
  });
});
