import { describe, expect, it } from 'vitest';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import { download, exported, idsOf, kickOff, manifestOf, waitFor, worker } from './support.js';
import { insertJob } from '../../src/storage/bulk-tables.js';
import { FHIR_JSON } from '../support/server.js';
import { afterAll, beforeAll } from 'vitest';
import type { ExportWorker } from '../../src/bulk/worker.js';

describe.each(BACKENDS)('Bulk Data kick-off parameters, on $name', (backend) => {
  const t = useServer(backend);
  let running: ExportWorker;
  beforeAll(() => {
    running = worker(t);
  });
  afterAll(() => running.stop());

  /** A kick-off refused with 400 whose OperationOutcome names `expression`. */
  async function refused(path: string, expression: string, prefer = 'respond-async', saying?: RegExp) {
    const res = await t.http().get(path).set('Prefer', prefer);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    const outcome = res.body as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].expression).toEqual([expression]);
    if (saying) expect(outcome.issue[0].diagnostics).toMatch(saying);
  }

  it('refuses a kick-off without Prefer: respond-async', async () => {
    await refused('/fhir/$export', 'Prefer', 'handling=lenient');
  });

  it('refuses unknown and unsupported parameters and bad values, naming them', async () => {
    await refused('/fhir/$export?foo=1', 'foo');
    await refused('/fhir/$export?_outputFormat=application/json', '_outputFormat');
    await refused('/fhir/$export?_type=Nonsense', '_type');
    await refused('/fhir/$export?_since=yesterday', '_since');
    await refused('/fhir/$export?_until=2026-01-01&_since=2026-02-01', '_since');
    await refused('/fhir/$export?_elements=a.b.c', '_elements');
    await refused('/fhir/$export?_typeFilter=Patient', '_typeFilter');
    const unknownSearch = `/fhir/$export?_type=Patient&_typeFilter=${encodeURIComponent('Patient?nonsense=1')}`;
    await refused(unknownSearch, '_typeFilter', 'respond-async', /nonsense/);
    await refused(`/fhir/$export?_type=Patient&_typeFilter=${encodeURIComponent('Patient?_sort=name')}`, '_typeFilter');
    await refused(
      `/fhir/$export?_type=Patient&_typeFilter=${encodeURIComponent('Observation?status=final')}`,
      '_typeFilter',
    );
    await refused('/fhir/$export?includeAssociatedData=RelevantProvenanceResources', 'includeAssociatedData');
    await refused('/fhir/Patient/$export?_type=Organization', '_type');
    await refused('/fhir/$export?patient=Patient/x', 'patient');
  });

  it('accepts the three NDJSON format names, and ignores unknown parameters when lenient, saying so', async () => {
    for (const format of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) {
      const status = await kickOff(t.http, `/fhir/$export?_type=Patient&_outputFormat=${encodeURIComponent(format)}`);
      expect((await manifestOf(t.http, status)).error).toEqual([]);
    }
    const res = await t
      .http()
      .get('/fhir/$export?_type=Patient&foo=1')
      .set('Prefer', 'respond-async, handling=lenient');
    expect(res.status).toBe(202);
    const m = await manifestOf(t.http, (res.headers['content-location'] as string).replace('http://forlop.test', ''));
    expect(m.error).toHaveLength(1);
    const [warning] = (await download(t.http, m.error[0].url)) as OperationOutcome[];
    expect(warning.issue[0]).toMatchObject({ severity: 'warning', expression: ['foo'] });
  });

  it('keeps to _since and _until (meta.lastUpdated, each at its precision)', async () => {
    const create = async (family: string) => {
      const res = await t
        .http()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', name: [{ family }] });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    t.clock.set('2026-10-05T08:00:00Z');
    const early = await create('Tidlig');
    t.clock.set('2026-10-07T08:00:00Z');
    const late = await create('Sen');
    const until = await kickOff(t.http, '/fhir/$export?_type=Patient&_until=2026-10-05');
    expect(idsOf(await exported(t.http, await manifestOf(t.http, until)), 'Patient')).toEqual([early]);
    const since = await kickOff(t.http, '/fhir/$export?_type=Patient&_since=2026-10-06T00:00:00Z');
    expect(idsOf(await exported(t.http, await manifestOf(t.http, since)), 'Patient')).toEqual([late]);
  });

  it('answers a job that failed (three attempts) with an OperationOutcome, as the IG asks', async () => {
    // a plan whose filter no longer compiles (as a SearchParameter removed since the kick-off would)
    const now = t.clock.now().getTime();
    const plan = { types: ['Patient'], snapshot: 1_000_000, filters: { Patient: [[['no-such-parameter', 'x']]] } };
    await t.storage.transaction((tx) =>
      insertJob(tx, {
        id: 'broken-job',
        status: 'accepted',
        owner: null,
        request: 'http://forlop.test/fhir/$export',
        plan: JSON.stringify(plan),
        cursor: JSON.stringify({ typeIndex: 0, afterSeq: 0, nextFile: 1, exported: 0 }),
        requiresToken: false,
        transactionTime: now,
        created: now,
        expires: now + 3600_000,
      }),
    );
    running.wake();
    const res = await waitFor('the job to fail', async () => {
      const r = await t.http().get('/fhir/$export-poll-status?_jobId=broken-job');
      return r.status !== 202 && r;
    });
    expect(res.status).toBe(500);
    expect((res.body as OperationOutcome).issue[0]).toMatchObject({ severity: 'fatal', code: 'exception' });
    expect((res.body as OperationOutcome).issue[0].diagnostics).toMatch(/no-such-parameter/);
  });

  it('answers 404 for an unknown job and 400 for a malformed job id, never a 5xx', async () => {
    expect((await t.http().get('/fhir/$export-poll-status?_jobId=00000000-0000-0000-0000-000000000000')).status).toBe(
      404,
    );
    expect((await t.http().get('/fhir/$export-poll-status?_jobId=a%27b')).status).toBe(400);
    expect((await t.http().get('/fhir/$export-file?_jobId=00000000-0000-0000-0000-000000000000&_file=1')).status).toBe(
      404,
    );
    expect((await t.http().delete('/fhir/$export-file?_jobId=x')).status).toBe(405);
  });
});
