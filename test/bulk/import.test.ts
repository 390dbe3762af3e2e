import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { fnrFor } from '../support/norwegian-ids.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import type { ExportWorker } from '../../src/bulk/worker.js';
import { download, local, waitFor, worker } from './support.js';

/** NDJSON files served on a loopback port, as a source system would publish them. */
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const person = (id: string, fnr: string) =>
  JSON.stringify({
    resourceType: 'Patient',
    id,
    identifier: [{ system: FNR, value: fnr }],
    name: [{ family: 'Import' }],
  });

const FILES: Record<string, string> = {
  '/patients.ndjson': [
    JSON.stringify({ resourceType: 'Patient', id: 'imp1', name: [{ family: 'Import' }] }),
    JSON.stringify({ resourceType: 'Patient', id: 'imp2', name: [{ family: 'Import' }], gender: 'female' }),
    JSON.stringify({ resourceType: 'Patient', id: 'imp4', name: [{ family: 'Import' }] }),
    '',
  ].join('\n'),
  // one batch (all or nothing) with three lines at fault: none of it is stored
  '/mixed.ndjson': [
    JSON.stringify({ resourceType: 'Patient', id: 'imp5', name: [{ family: 'Import' }] }),
    'not json at all',
    JSON.stringify({ resourceType: 'Observation', id: 'wrong-type', status: 'final', code: { text: 'x' } }),
    JSON.stringify({ resourceType: 'Patient', id: 'imp3', gender: 'nonsense' }),
  ].join('\n'),
  // valid one by one, refused together by the one-person-one-Patient rule inside the batch's transaction
  '/same-person.ndjson': [person('dup1', fnrFor(7)), person('dup2', fnrFor(7))].join('\n'),
  '/observations.ndjson': ['a', 'b']
    .map((id) =>
      JSON.stringify({
        resourceType: 'Observation',
        id: `imp-o${id}`,
        status: 'final',
        code: { text: 'Puls' },
        subject: { reference: 'Patient/imp1' },
      }),
    )
    .join('\n'),
};

/** A folder an operator lets `$import` read (BULK_IMPORT_SOURCES file:///…/), and a file beside it. */
const root = mkdtempSync(join(tmpdir(), 'forlop-import-'));
const folder = join(root, 'imports');
mkdirSync(folder);
writeFileSync(join(folder, 'patients.ndjson'), FILES['/patients.ndjson'].replaceAll('imp', 'file'));
writeFileSync(join(root, 'outside.ndjson'), FILES['/patients.ndjson'].replaceAll('imp', 'secret'));
symlinkSync(join(root, 'outside.ndjson'), join(folder, 'link.ndjson'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(BACKENDS)('Bulk Data import, on $name', (backend) => {
  const t = useServer(backend, { bulk: { importSources: ['http://127.0.0.1:', `file://${folder}/`] } });
  let source: Server;
  let base = '';
  let running: ExportWorker;
  beforeAll(async () => {
    source = createServer((req, res) => {
      if (req.url === '/elsewhere.ndjson') {
        res.writeHead(302, { Location: 'http://10.0.0.1/internal.ndjson' }).end();
        return;
      }
      const body = FILES[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200, { 'Content-Type': 'application/fhir+ndjson' });
      res.end(body ?? '');
    });
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
    running = worker(t);
  });
  afterAll(async () => {
    await running.stop();
    await new Promise((r) => source.close(r));
  });

  const parameters = (inputs: [string, string][], more: object[] = []) => ({
    resourceType: 'Parameters',
    parameter: [
      { name: 'inputFormat', valueCode: 'application/fhir+ndjson' },
      ...inputs.map(([type, url]) => ({
        name: 'input',
        part: [
          { name: 'type', valueCode: type },
          { name: 'url', valueUri: url },
        ],
      })),
      ...more,
    ],
  });
  const post = (body: object, prefer = 'respond-async') =>
    t.http().post('/fhir/$import').set('Prefer', prefer).set('Content-Type', FHIR_JSON).send(body);

  /** Kicks off an import of the four files and waits for its manifest. */
  async function importAll() {
    const res = await post(
      parameters([
        ['Patient', `${base}/patients.ndjson`],
        ['Patient', `${base}/mixed.ndjson`],
        ['Patient', `${base}/same-person.ndjson`],
        ['Observation', `${base}/observations.ndjson`],
      ]),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const status = local(res.headers['content-location'] as string);
    const done = await waitFor('the import', async () => {
      const r = await t.http().get(status);
      return r.status !== 202 && r;
    });
    expect(done.status, done.text).toBe(200);
    return JSON.parse(done.text) as {
      output: { type: string; inputUrl: string; count: number }[];
      error: { url: string; count: number }[];
    };
  }

  it('stores each batch whole or not at all, and reports every line of a refused one', async () => {
    const m = await importAll();
    expect(m.output).toEqual([
      { type: 'Patient', inputUrl: `${base}/patients.ndjson`, count: 3 },
      { type: 'Patient', inputUrl: `${base}/mixed.ndjson`, count: 0 },
      { type: 'Patient', inputUrl: `${base}/same-person.ndjson`, count: 0 },
      { type: 'Observation', inputUrl: `${base}/observations.ndjson`, count: 2 },
    ]);
    expect((await t.http().get('/fhir/Patient/imp2')).body.gender).toBe('female');
    expect((await t.http().get('/fhir/Observation/imp-ob')).status).toBe(200);
    for (const id of ['imp5', 'imp3', 'dup1', 'dup2'])
      expect((await t.http().get(`/fhir/Patient/${id}`)).status).toBe(404);
    const errors = (await Promise.all(m.error.map((f) => download(t.http, f.url)))).flat() as OperationOutcome[];
    const said = errors.map((e) => e.issue[0].diagnostics ?? '');
    expect(said).toHaveLength(6);
    expect(said[0]).toMatch(/mixed\.ndjson line 2: the line is not JSON/);
    expect(said[1]).toMatch(/mixed\.ndjson line 3: the line is not a Patient/);
    expect(said[2]).toMatch(/mixed\.ndjson line 4: Invalid code 'nonsense'/);
    expect(errors[2].issue[0].expression?.[0]).toMatch(/^Patient\.gender/);
    expect(said[3]).toMatch(/mixed\.ndjson line 1: not stored: lines 1–4 are one batch/);
    expect(said[4]).toMatch(/same-person\.ndjson line 2: Patient\/dup1 already has this .*one person is one Patient/);
    expect(errors[4].issue[0].code).toBe('duplicate');
    expect(said[5]).toMatch(/same-person\.ndjson line 1: not stored: lines 1–2 are one batch/);
  });

  it('reads a file in an allowed folder, and refuses a path or a link that leads out of it', async () => {
    const done = async (url: string) => {
      const res = await post(parameters([['Patient', url]]));
      if (res.status !== 202) return res;
      const status = local(res.headers['content-location'] as string);
      return waitFor('the import', async () => {
        const r = await t.http().get(status);
        return r.status !== 202 && r;
      });
    };
    const stored = await done(`file://${folder}/patients.ndjson`);
    expect(stored.status, stored.text).toBe(200);
    expect(JSON.parse(stored.text).output[0].count).toBe(3);
    expect((await t.http().get('/fhir/Patient/file2')).body.gender).toBe('female');
    const escaped = await done(`file://${folder}/../outside.ndjson`);
    expect(escaped.status).toBe(400);
    expect(escaped.body.issue[0].expression).toEqual(['input.url']);
    const linked = await done(`file://${folder}/link.ndjson`);
    expect(linked.status).toBe(500);
    expect(JSON.stringify(linked.body)).toMatch(/outside BULK_IMPORT_SOURCES/);
    expect((await t.http().get('/fhir/Patient/secret1')).status).toBe(404);
  });

  it('is idempotent: the same files again store no new version', async () => {
    const m = await importAll();
    expect(m.output.map((o) => o.count)).toEqual([3, 0, 0, 2]);
    expect((await t.http().get('/fhir/Patient/imp1')).body.meta.versionId).toBe('1');
  });

  it('does not follow a redirect out of the allowed sources: the job fails, nothing is fetched there', async () => {
    const res = await post(parameters([['Patient', `${base}/elsewhere.ndjson`]]));
    expect(res.status).toBe(202);
    const status = local(res.headers['content-location'] as string);
    const done = await waitFor('the import to fail', async () => {
      const r = await t.http().get(status);
      return r.status !== 202 && r;
    });
    expect(done.status).toBe(500);
    expect((done.body as OperationOutcome).issue[0].code).toBe('exception');
  });

  it('refuses a kick-off without respond-async, a URL outside BULK_IMPORT_SOURCES and bad parameters', async () => {
    const refused = async (body: object, expression: string, prefer?: string) => {
      const res = await post(body, prefer);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect((res.body as OperationOutcome).issue[0].expression).toEqual([expression]);
    };
    await refused(parameters([['Patient', `${base}/patients.ndjson`]]), 'Prefer', 'handling=strict');
    await refused(parameters([['Patient', 'https://elsewhere.example/patients.ndjson']]), 'input.url');
    await refused(parameters([['Nonsense', `${base}/patients.ndjson`]]), 'input.type');
    await refused(parameters([]), 'input');
    await refused(parameters([['Patient', `${base}/patients.ndjson`]], [{ name: 'mode', valueCode: 'x' }]), 'mode');
    const wrongFormat = parameters([['Patient', `${base}/patients.ndjson`]]);
    wrongFormat.parameter[0] = { name: 'inputFormat', valueCode: 'application/json' };
    await refused(wrongFormat, 'inputFormat');
  });
});
