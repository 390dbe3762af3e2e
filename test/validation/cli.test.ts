import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnrFor } from '../support/norwegian-ids.js';

const BIN = join(import.meta.dirname, '../../bin/forlop.js');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';

function forlop(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'validate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const patient = (i: number, more: object = {}) => ({ resourceType: 'Patient', id: `p${i}`, name: [{ family: 'Dahl' }], identifier: [{ system: FNR, value: fnrFor(i) }], ...more });

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
      JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: patient(3) }, { resource: patient(4, { identifier: [{ system: FNR, value: '15037012341' }] }) }] }),
    );
    const lines = [patient(5), patient(6, { gender: 'man' }), {}, patient(7)].map((r) => JSON.stringify(r));
    writeFileSync(join(dir, 'mixed', 'patients.ndjson'), `${lines[0]}\n${lines[1]}\n\n${lines[2]}\n{broken\n${lines[3]}\n`);
    writeFileSync(join(dir, 'warned.json'), JSON.stringify(patient(8, { extension: [{ url: 'http://example.org/unknown', valueString: 'x' }] })));
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
    expect(run.stdout).toMatch(/bad-date\.json {2}\(Patient\/p2\)\n {2}error +Patient\.birthDate +Invalid date 'tomorrow'/);
    expect(run.stdout).toMatch(/bundle\.json {2}\(Bundle\)\n {2}error +Bundle\.entry\[1\]\.resource\.identifier\[0\]\.value/);
    expect(run.stdout).toMatch(/patients\.ndjson:2 {2}\(Patient\/p6\)\n {2}error +Patient\.gender/);
    expect(run.stdout).toMatch(/patients\.ndjson:4\n {2}error +not a FHIR resource/);
    expect(run.stdout).toMatch(/patients\.ndjson:5\n {2}error +invalid JSON/);
    const row = run.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/);
    // 3 files; resources: 1 + a Bundle of 2 + 3 NDJSON lines; valid: the Bundle is not, p5 and p7 are
    expect(row).toEqual(['3', '7', '2', '5', '0']);
  });

  it('--format json for machines, and --profile applies a profile of ours', async () => {
    const run = await forlop(join(dir, 'good', 'patient.json'), '--format', 'json', '--profile', 'http://forlop.no/fhir/StructureDefinition/forlop-practitioner');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.summary).toEqual({ files: 1, resources: 1, valid: 0, errors: 1, warnings: 0, information: 0 });
    expect(report.results[0]).toMatchObject({ resourceType: 'Patient', id: 'p1', issues: [{ severity: 'error', expression: ['Patient'] }] });
    expect(report.results[0].issues[0].diagnostics).toContain('is for Practitioner');
  });

  it('a missing path is an error; no path or an unknown option is a usage error (2)', async () => {
    const missing = await forlop(join(dir, 'nowhere.json'), '--format', 'json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).results[0]).toMatchObject({ file: join(dir, 'nowhere.json'), issues: [{ severity: 'error', diagnostics: 'No such file or folder' }] });
    const none = await forlop();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: forlop validate');
    expect((await forlop(dir, '--colour')).code).toBe(2);
  });
});
