import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Patient } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { BASE, useFixtures, useServer } from '../support/server.js';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import { startExportWorker, type ExportWorker } from '../../src/bulk/worker.js';
import type { Storage } from '../../src/storage/types.js';
import { exported, Gate, idsOf, kickOff, manifestOf, waitFor, worker } from './support.js';

const PATIENTS = 40;

function patients(): Patient[] {
  return Array.from({ length: PATIENTS }, (_, i) => ({
    resourceType: 'Patient',
    id: `r${String(i).padStart(3, '0')}`,
    name: [{ family: `Omstart${i}`, given: ['Test'] }],
  }));
}

/**
 * A node dies in the middle of a job (its first files saved, its lease no longer renewed): another
 * node on the same database — a second app with storage of its own — takes the lease once it has
 * expired, resumes from the saved cursor and finishes; every resource is in the files exactly once.
 * The dead node, come back to life, fails its fence and adds nothing.
 */
describe.each(BACKENDS)('an export job resumed after its node died, on $name', (backend) => {
  const t = useServer(backend, { bulk: { fileMaxBytes: 800, batch: 4 } });
  useFixtures(t, patients);
  const workers: ExportWorker[] = [];
  const gate = new Gate();
  let other: Storage | undefined;
  afterAll(async () => {
    gate.opened();
    for (const w of workers) await w.stop();
    await other?.close();
  });

  it('resumes on another node from the saved cursor, with no resource lost or repeated', async () => {
    gate.close();
    const dying = worker(t, { afterFile: gate.hook, leaseTtlMs: 60_000 });
    workers.push(dying);
    const status = await kickOff(t.http, '/fhir/$export?_type=Patient');
    await gate.reached; // the first file is saved, and the node stops there
    const job = status.split('=')[1];
    const saved = await t.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM bulk_files WHERE job = ?', [job]);
    expect(Number(saved?.n)).toBe(1);
    expect((await t.http().get(status)).status).toBe(202);

    // its lease would expire after 60 s of silence; here it is made to have expired
    await t.storage.transaction((tx) => tx.run('UPDATE leases SET expires = 0 WHERE name = ?', [`bulk:${job}`]));
    other = await openStorage(t.databaseUrl);
    const bulk = { fileMaxBytes: 800, batch: 4 };
    const second = buildApp({ storage: other, baseUrl: BASE, clock: t.clock, log: silentLog, bulk });
    await second.ready;
    workers.push(startExportWorker(second.services, { pollMs: 50 }));
    const m = await manifestOf(t.http, status);
    const all = await exported(t.http, m);
    expect(idsOf(all, 'Patient')).toEqual(patients().map((p) => p.id));
    expect(m.output.length).toBeGreaterThan(2);

    // the first node wakes up: its save is refused by the lease's fence, nothing is added
    const files = m.output.length;
    gate.opened();
    await waitFor('the first node to give up', async () => {
      const rows = await t.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM bulk_files WHERE job = ?', [job]);
      return Number(rows?.n) === files;
    });
    await new Promise((r) => setTimeout(r, 200));
    const after = await t.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM bulk_files WHERE job = ?', [job]);
    expect(Number(after?.n)).toBe(files);
    expect(idsOf(await exported(t.http, await manifestOf(t.http, status)), 'Patient')).toHaveLength(PATIENTS);
  });
});

/** The same for an import: resumed from the saved line, each resource stored once (one version). */
describe.each(BACKENDS)('an import job resumed after its node died, on $name', (backend) => {
  const LINES = 450; // three chunks of 200
  const t = useServer(backend, { bulk: { importSources: ['http://127.0.0.1:'] } });
  const workers: ExportWorker[] = [];
  const gate = new Gate();
  let other: Storage | undefined;
  let source: Server | undefined;
  afterAll(async () => {
    gate.opened();
    for (const w of workers) await w.stop();
    await other?.close();
    await new Promise((r) => source?.close(r));
  });

  it('goes on from the saved line on another node; nothing is stored twice', async () => {
    const ndjson = patients()
      .concat(
        Array.from({ length: LINES - PATIENTS }, (_, i) => ({
          resourceType: 'Patient' as const,
          id: `m${i}`,
          name: [{ family: `Mange${i}` }],
        })),
      )
      .map((p) => JSON.stringify(p))
      .join('\n');
    source = createServer((_req, res) => res.end(ndjson));
    await new Promise<void>((r) => source!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(source.address() as AddressInfo).port}/all.ndjson`;
    gate.close();
    workers.push(worker(t, { afterFile: gate.hook }));
    const res = await t
      .http()
      .post('/fhir/$import')
      .set('Prefer', 'respond-async')
      .set('Content-Type', 'application/fhir+json')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'inputFormat', valueCode: 'application/fhir+ndjson' },
          {
            name: 'input',
            part: [
              { name: 'type', valueCode: 'Patient' },
              { name: 'url', valueUri: url },
            ],
          },
        ],
      });
    expect(res.status).toBe(202);
    const status = (res.headers['content-location'] as string).replace(BASE, '/fhir');
    await gate.reached; // the first 200 lines are stored and the cursor saved; the node stops there
    const job = status.split('=')[1];
    expect((await t.http().get(status)).headers['x-progress']).toMatch(/line 200; 200 resources stored/);

    await t.storage.transaction((tx) => tx.run('UPDATE leases SET expires = 0 WHERE name = ?', [`bulk:${job}`]));
    other = await openStorage(t.databaseUrl);
    const bulk = { importSources: ['http://127.0.0.1:'] };
    const second = buildApp({ storage: other, baseUrl: BASE, clock: t.clock, log: silentLog, bulk });
    await second.ready;
    workers.push(startExportWorker(second.services, { pollMs: 50 }));
    const done = await waitFor('the import', async () => {
      const r = await t.http().get(status);
      return r.status === 200 && (JSON.parse(r.text) as { output: { count: number }[] });
    });
    expect(done.output[0].count).toBe(LINES);
    gate.opened(); // the first node's next save is refused by the fence
    await new Promise((r) => setTimeout(r, 300));
    const versions = await t.storage.get<{ n: number; v: number }>(
      `SELECT COUNT(*) AS n, MAX(version) AS v FROM resources WHERE type = 'Patient'`,
    );
    expect([Number(versions?.n), Number(versions?.v)]).toEqual([LINES, 1]);
  });
});
