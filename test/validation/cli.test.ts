import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Task } from '@medplum/fhirtypes';
import { freePort } from '../support/net.js';
import { fnrFor } from '../support/norwegian-ids.js';
import { forlop, summaryRow } from './cli-support.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const NPR = 'urn:oid:2.16.578.1.12.4.1.1.9329';
const JOURNEY = join(import.meta.dirname, '../../examples/journey-D11-adults.json');

const patient = (i: number, more: object = {}) => ({
  resourceType: 'Patient',
  id: `p${i}`,
  name: [{ family: 'Dahl' }],
  identifier: [{ system: FNR, value: fnrFor(i) }],
  ...more,
});

/** `forlop validate`, run as trusts run it in a pipeline: a process, files in, a report and an exit code out. */
describe('forlop validate (command line)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forlop-cli-'));
    mkdirSync(join(dir, 'good'));
    mkdirSync(join(dir, 'mixed'));
    writeFileSync(join(dir, 'good', 'patient.json'), JSON.stringify(patient(1)));
    writeFileSync(join(dir, 'good', 'notes.txt'), 'not FHIR, and not looked at');
    writeFileSync(join(dir, 'mixed', 'bad-date.json'), JSON.stringify(patient(2, { birthDate: 'tomorrow' })));
    writeFileSync(
      join(dir, 'mixed', 'bundle.json'),
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: patient(3) },
          { resource: patient(4, { identifier: [{ system: FNR, value: '15037012341' }] }) },
        ],
      }),
    );
    const lines = [patient(5), patient(6, { gender: 'man' }), {}, patient(7)].map((r) => JSON.stringify(r));
    writeFileSync(
      join(dir, 'mixed', 'patients.ndjson'),
      `${lines[0]}\n${lines[1]}\n\n${lines[2]}\n{broken\n${lines[3]}\n`,
    );
    writeFileSync(
      join(dir, 'warned.json'),
      JSON.stringify(patient(8, { extension: [{ url: 'http://example.org/unknown', valueString: 'x' }] })),
    );
    // the D11 example journey with its first attendance moved after the clinical decision (2026-02-17)
    const journey = JSON.parse(readFileSync(JOURNEY, 'utf8')) as Bundle;
    const attendance = journey.entry?.[10].resource as Task;
    expect(attendance.identifier?.[0].value).toMatch(/\/first-attendance$/);
    attendance.executionPeriod = { start: '2026-02-20', end: '2026-02-20' };
    writeFileSync(join(dir, 'late-attendance.json'), JSON.stringify(journey));
    mkdirSync(join(dir, 'types'));
    const types = (name: string, resource: object) => writeFileSync(join(dir, 'types', name), JSON.stringify(resource));
    types('misspelt.json', { resourceType: 'Pateint', name: [{ family: 'Dahl' }] });
    types('medplum.json', { resourceType: 'Bot', name: 'robot' });
    types('long-name.json', patient(9, { name: [{ text: 'a'.repeat(1024 * 1024 + 1) }] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('valid input: the summary table and exit code 0; warnings do not fail', async () => {
    const run = await forlop(join(dir, 'good'), join(dir, 'warned.json'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Unknown extension http://example.org/unknown');
    const [head, row] = run.stdout.trim().split('\n').slice(-2);
    expect(head.trim().split(/\s+/)).toEqual(['Files', 'Resources', 'Valid', 'Errors', 'Warnings']);
    expect(row.trim().split(/\s+/)).toEqual(['2', '2', '2', '0', '1']);
  });

  it('folders, Bundles and NDJSON: every error with file, line and element path; exit code 1', async () => {
    const run = await forlop(join(dir, 'mixed'));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /bad-date\.json {2}\(Patient\/p2\)\n {2}error +Patient\.birthDate +Invalid date 'tomorrow'/,
    );
    expect(run.stdout).toMatch(
      /bundle\.json {2}\(Bundle\)\n {2}error +Bundle\.entry\[1\]\.resource\.identifier\[0\]\.value/,
    );
    expect(run.stdout).toMatch(/patients\.ndjson:2 {2}\(Patient\/p6\)\n {2}error +Patient\.gender/);
    expect(run.stdout).toMatch(/patients\.ndjson:4\n {2}error +not a FHIR resource/);
    expect(run.stdout).toMatch(/patients\.ndjson:5\n {2}error +invalid JSON/);
    const row = run.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/);
    // 3 files; resources: 1 + a Bundle of 2 + 3 NDJSON lines; valid: the Bundle itself and its first
    // entry (the error is at entry 1's resource), p5 and p7
    expect(row).toEqual(['3', '7', '4', '5', '0']);
  });

  it('--format json for machines, and --profile applies a profile of ours', async () => {
    const run = await forlop(
      join(dir, 'good', 'patient.json'),
      '--format',
      'json',
      '--profile',
      'http://forlop.no/fhir/StructureDefinition/forlop-practitioner',
    );
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.summary).toEqual({ files: 1, resources: 1, valid: 0, errors: 1, warnings: 0, information: 0 });
    expect(report.results[0]).toMatchObject({
      resourceType: 'Patient',
      id: 'p1',
      issues: [{ severity: 'error', expression: ['Patient'] }],
    });
    expect(report.results[0].issues[0].diagnostics).toContain('is for Practitioner');
  });

  it('a missing path is an error; no path or an unknown option is a usage error (2)', async () => {
    const missing = await forlop(join(dir, 'nowhere.json'), '--format', 'json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).results[0]).toMatchObject({
      file: join(dir, 'nowhere.json'),
      issues: [{ severity: 'error', diagnostics: 'No such file or folder' }],
    });
    const none = await forlop();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: forlop validate');
    expect((await forlop(dir, '--colour')).code).toBe(2);
  });

  it('a transaction Bundle of 25 entries (the D11 example journey) is dry-run: Resources 26, Valid 26', async () => {
    const run = await forlop(JOURNEY);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(summaryRow(run)).toEqual(['1', '26', '26', '0', '0']);
    const json = await forlop(JOURNEY, '--format', 'json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.summary).toMatchObject({ files: 1, resources: 26, valid: 26, errors: 0, warnings: 0 });
    // information only (the journey's patient has a synthetic test number)
    const results: { issues: { severity: string }[] }[] = report.results;
    const severities = results.flatMap((r) => r.issues.map((i) => i.severity));
    expect(severities).not.toContain('error');
  });

  it('a milestone out of NPR order in a transaction: its NPR code at its entry, that resource invalid', async () => {
    const run = await forlop(join(dir, 'late-attendance.json'));
    expect(run.code).toBe(1);
    const decision = 'Bundle.entry[16].resource.status';
    expect(run.stdout).toContain(`late-attendance.json  (Bundle/d11-adults)\n  error    ${decision}`);
    expect(run.stdout).toMatch(/Bundle\.entry\[16\]\.resource\.status +NPR 208: /);
    expect(summaryRow(run)).toEqual(['1', '26', '25', '1', '0']);
    const json = JSON.parse((await forlop(join(dir, 'late-attendance.json'), '--format', 'json')).stdout);
    expect(json.summary).toMatchObject({ resources: 26, valid: 25, errors: 1 });
    const issues = json.results[0].issues.filter((i: { severity: string }) => i.severity !== 'information');
    expect(issues).toEqual([
      expect.objectContaining({ severity: 'error', code: 'business-rule', expression: [decision] }),
    ]);
    expect(issues[0].details.coding).toEqual([expect.objectContaining({ system: NPR, code: '208' })]);
  });

  it('only R4 types: a misspelling names the type meant, a Medplum type is unknown; strings up to 1 MB', async () => {
    const run = await forlop(join(dir, 'types'), '--format', 'json');
    expect(run.code).toBe(1);
    const results: { file: string; issues: unknown[] }[] = JSON.parse(run.stdout).results;
    const byFile = Object.fromEntries(results.map((r) => [r.file.split('/').at(-1), r.issues]));
    const error = (expression: string, more: object = {}) =>
      expect.objectContaining({ severity: 'error', expression: [expression], ...more });
    expect(byFile['misspelt.json']).toEqual([
      error('resourceType', { code: 'not-supported', diagnostics: expect.stringContaining('did you mean Patient?') }),
    ]);
    expect(byFile['medplum.json']).toEqual([
      error('resourceType', { diagnostics: "Unknown resource type 'Bot': not a FHIR R4 resource" }),
    ]);
    expect(byFile['long-name.json']).toEqual([error('Patient.name[0].text', { code: 'too-long' })]);
  });

  it('--server that cannot be reached, or is no URL: a clear error and exit code 2', async () => {
    const down = `http://127.0.0.1:${await freePort()}/fhir`;
    const run = await forlop(join(dir, 'good'), '--server', down);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Cannot reach the FHIR server at ${down}/metadata`);
    expect(run.stdout).toBe('');
    const bad = await forlop(join(dir, 'good'), '--server', 'localhost:8080');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--server needs the FHIR base url');
  });
});
