import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Bundle, CarePlan, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaOfUrl } from '../../src/storage/postgres-backup.js';
import { applyPathway, ensureUnit, newPatient, usePathways } from '../pathways/support.js';
import { BACKENDS } from '../support/backends.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { FORLOP_BIN } from '../support/forlop-process.js';
import { restoreIntoNewDatabase } from '../support/pg-restore.js';
import { FHIR_JSON, useServer, type TestServer } from '../support/server.js';

/**
 * Backup and restore of each backend (issue 15): real data loaded over HTTP, `forlop backup` taken
 * while a loop of creates goes on, restored into a fresh server (a new SQLite file; pg_restore into
 * a new PostgreSQL database), which must serve the same resources, versions and search results, every
 * create acknowledged before the backup began, and no write in part.
 */
const run = promisify(execFile);
const LOOP_SYSTEM = 'urn:forlop:test:backup-loop';

/** Sequential creates (one at a time, so a consistent snapshot holds a prefix of them) until stopped. */
function writeLoop(t: TestServer) {
  const acked: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const patient = { resourceType: 'Patient', identifier: [{ system: LOOP_SYSTEM, value: `loop-${i}` }] };
      const res = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient);
      if (res.status !== 201) throw new Error(`create ${i} refused: ${res.status} ${JSON.stringify(res.body)}`);
      acked.push(res.body.id as string);
    }
  })();
  return {
    acked,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** The resources of a Bundle, in its order (fullUrls differ between servers; the resources must not). */
const resources = (bundle: unknown) => ((bundle as Bundle).entry ?? []).map((e) => e.resource as Resource);

describe.each(BACKENDS)('backup and restore ($name)', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  let dir: string;
  let restored: ChildServer | undefined;
  let dropRestored: () => Promise<void> = async () => undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forlop-backup-'));
  });
  afterAll(async () => {
    await restored?.stop();
    await dropRestored();
    rmSync(dir, { recursive: true, force: true });
  });

  /** GET on the restored server, as JSON. */
  async function fromRestored(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${restored!.baseUrl}/fhir/${path}`, { headers: { Accept: FHIR_JSON } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  async function fromSource(path: string): Promise<Record<string, unknown>> {
    const res = await t.http().get(`/fhir/${path}`);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body as Record<string, unknown>;
  }

  /** Restores the backup into a fresh database and starts `forlop serve` on it (no scheduled jobs). */
  async function restore(file: string): Promise<void> {
    let url: string;
    if (backend.name === 'sqlite') {
      copyFileSync(file, join(dir, 'restored.db'));
      url = `sqlite:${join(dir, 'restored.db')}`;
    } else {
      const db = await restoreIntoNewDatabase(file);
      dropRestored = db.drop;
      url = `${db.url}?options=${encodeURIComponent(`-c search_path=${schemaOfUrl(t.databaseUrl)}`)}`;
    }
    restored = await startChildServer(url, { DEADLINE_CRON: '', REGISTRY_CRON: '', REGISTRY_OUTBOX: '' });
  }

  it('restores what was stored before the backup began, consistent, while writes went on', async () => {
    const patients = [await newPatient(t), await newPatient(t), await newPatient(t)];
    const apply = await applyPathway(t, 'D11', {
      subject: patients[0],
      start: '2026-03-02',
      organization: await ensureUnit(t), // the unit must exist
    });
    expect(apply.status, JSON.stringify(apply.body)).toBe(200);
    const carePlan = apply.body as CarePlan;
    // a resource with history: two updates after its create
    const edited = await fromSource(patients[1]);
    for (const given of ['Andre', 'Tredje']) {
      const body = { ...edited, name: [{ family: 'Testesen', given: [given] }] };
      const res = await t.http().put(`/fhir/${patients[1]}`).set('Content-Type', FHIR_JSON).send(body);
      expect(res.status).toBe(200);
    }

    const loop = writeLoop(t);
    while (loop.acked.length < 5) await new Promise((r) => setTimeout(r, 20));
    const out = join(dir, backend.name === 'sqlite' ? 'forlop-backup.db' : 'forlop-backup.dump');
    const ackedBefore = loop.acked.length;
    let ackedDuring: number;
    let cli: { stdout: string };
    try {
      // vitest sets BASE_URL=/ (Vite's): empty is unset, the default
      const env = { ...process.env, DATABASE_URL: t.databaseUrl, BASE_URL: '' };
      cli = await run(process.execPath, [FORLOP_BIN, 'backup', '--out', out], { env });
      ackedDuring = loop.acked.length - ackedBefore;
    } finally {
      await loop.stop();
    }
    expect(cli.stdout).toMatch(backend.name === 'sqlite' ? /Backed up SQLite to .*integrity ok/ : /Ran: .*pg_dump/);
    expect(ackedDuring, 'creates acknowledged while the backup ran').toBeGreaterThan(0);
    expect(existsSync(`${out}.partial`)).toBe(false);
    await expectNoOverwrite(out);

    await restore(out);
    await expectSameResources(
      [...patients, 'Organization/test-unit', `CarePlan/${carePlan.id}`],
      `CarePlan/${carePlan.id}`,
    );
    await expectSameHistory(patients[1], 3);
    await expectLoopPrefix(loop.acked, ackedBefore);
  }, 240_000);

  /** A second backup to the same file is refused (exit 1), and the first is left as it was. */
  async function expectNoOverwrite(out: string) {
    const before = readFileSync(out);
    const env = { ...process.env, DATABASE_URL: t.databaseUrl, BASE_URL: '' };
    const failed = await run(process.execPath, [FORLOP_BIN, 'backup', '--out', out], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`forlop: ${out} exists: the backup does not overwrite a file`);
    expect(readFileSync(out).equals(before)).toBe(true);
  }

  /** The same resources (ids, versions, content), the same Tasks of the pathway, the same identifier searches. */
  async function expectSameResources(refs: string[], carePlan: string) {
    for (const ref of refs) {
      const got = await fromRestored(ref);
      expect(got.status, ref).toBe(200);
      expect(got.body).toEqual(await fromSource(ref));
    }
    const tasks = `Task?based-on=${carePlan}&_count=100`;
    const sourceTasks = resources(await fromSource(tasks));
    expect(sourceTasks.length).toBeGreaterThan(3);
    const restoredTasks = resources((await fromRestored(tasks)).body);
    const key = (r: Resource) => `${r.id}/${r.meta?.versionId}`;
    expect(restoredTasks.map(key).sort()).toEqual(sourceTasks.map(key).sort());
    expect(restoredTasks.sort(byId)).toEqual(sourceTasks.sort(byId));
    for (const ref of refs.filter((r) => r.startsWith('Patient/'))) {
      const patient = (await fromSource(ref)) as { identifier: { system: string; value: string }[] };
      const search = `Patient?identifier=${patient.identifier[0].system}|${patient.identifier[0].value}`;
      const found = resources((await fromRestored(search)).body).map((r) => `Patient/${r.id}`);
      expect(found).toEqual([ref]);
    }
  }

  async function expectSameHistory(ref: string, versions: number) {
    const source = resources(await fromSource(`${ref}/_history`));
    const got = resources((await fromRestored(`${ref}/_history`)).body);
    expect(got.map((r) => r.meta?.versionId)).toEqual(Array.from({ length: versions }, (_, i) => String(versions - i)));
    expect(got).toEqual(source);
  }

  /**
   * Every create acknowledged before the backup began is restored; the restored ones are a prefix of
   * the loop (a snapshot: none after a missing one), each whole: readable, in its history, and found by
   * its identifier (its search index rows came with it).
   */
  async function expectLoopPrefix(acked: string[], ackedBefore: number) {
    const present: boolean[] = [];
    for (const id of acked) present.push((await fromRestored(`Patient/${id}`)).status === 200);
    const restoredCount = present.filter(Boolean).length;
    expect(restoredCount).toBeGreaterThanOrEqual(ackedBefore);
    expect(present).toEqual(acked.map((_, i) => i < restoredCount));
    for (let i = 0; i < restoredCount; i++) {
      const history = resources((await fromRestored(`Patient/${acked[i]}/_history`)).body);
      expect(history.map((r) => r.meta?.versionId)).toEqual(['1']);
      const found = resources((await fromRestored(`Patient?identifier=${LOOP_SYSTEM}|loop-${i}`)).body);
      expect(found.map((r) => r.id)).toEqual([acked[i]]);
    }
  }
});

const byId = (a: Resource, b: Resource) => (a.id ?? '').localeCompare(b.id ?? '');
