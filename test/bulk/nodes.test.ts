import { describe, expect, it } from 'vitest';
import type { Patient } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config.js';
import { BACKENDS } from '../support/backends.js';
import { useSecondNode } from '../support/second-node.js';
import { useFixtures, useServer } from '../support/server.js';
import { download, exported, idsOf, kickOff, manifestOf } from './support.js';

const PATIENTS = 12;

function patients(): Patient[] {
  return Array.from({ length: PATIENTS }, (_, i) => ({
    resourceType: 'Patient',
    id: `n${String(i).padStart(2, '0')}`,
    name: [{ family: `Node${i}`, given: ['Test'] }],
  }));
}

/**
 * Two nodes on one database, as behind a load balancer: this one (in the test's process, with no
 * export worker) takes the kick-off; a `forlop serve` process runs the job with its own settings
 * (BULK_FILE_MAX_BYTES from its environment, the worker its schedule starts); either node answers the
 * status and serves the files, which are in the database.
 */
describe.each(BACKENDS)('a Bulk Data export across two nodes, on $name', (backend) => {
  const t = useServer(backend);
  useFixtures(t, patients);
  const other = useSecondNode(t, { BULK_FILE_MAX_BYTES: '700' });

  it('runs on the node that takes the job, and either node serves status and files', async () => {
    t.clock.set(new Date()); // the other node's clock is the real one: the job must not look expired to it
    const status = await kickOff(t.http, '/fhir/$export?_type=Patient');
    const m = await manifestOf(t.http, status);
    expect(m.output.length).toBeGreaterThan(2); // the other node's 700-byte bound made the files
    expect(idsOf(await exported(t.http, m), 'Patient')).toEqual(patients().map((p) => p.id));
    const fromOther = await manifestOf(other.http, status);
    expect(fromOther).toEqual(m);
    expect(await download(other.http, m.output[0].url)).toEqual(await download(t.http, m.output[0].url));
  });
});

describe('Bulk Data configuration', () => {
  it('has defaults (64 MB files kept 24 h) and refuses a bound below one byte', () => {
    const config = loadConfig({});
    expect(config.bulkFileMaxBytes).toBe(64 * 1024 * 1024);
    expect(config.bulkExpiresHours).toBe(24);
    expect(loadConfig({ BULK_FILE_MAX_BYTES: '1000', BULK_EXPIRES_HOURS: '2' })).toMatchObject({
      bulkFileMaxBytes: 1000,
      bulkExpiresHours: 2,
    });
    expect(() => loadConfig({ BULK_FILE_MAX_BYTES: '0' })).toThrow(/BULK_FILE_MAX_BYTES/);
    expect(() => loadConfig({ BULK_EXPIRES_HOURS: 'soon' })).toThrow(/BULK_EXPIRES_HOURS/);
    // import fetches from nowhere unless told; plain http only on loopback
    expect(config.bulkImportSources).toEqual([]);
    const sources = 'https://source.example/ndjson/, http://127.0.0.1:9000/';
    expect(loadConfig({ BULK_IMPORT_SOURCES: sources }).bulkImportSources).toEqual([
      'https://source.example/ndjson/',
      'http://127.0.0.1:9000/',
    ]);
    expect(() => loadConfig({ BULK_IMPORT_SOURCES: 'http://source.example/' })).toThrow(/BULK_IMPORT_SOURCES/);
    // a local folder, named as a file:/// URL ending in /; a file, or a host in the URL, is refused
    expect(loadConfig({ BULK_IMPORT_SOURCES: 'file:///srv/imports/' }).bulkImportSources).toEqual([
      'file:///srv/imports/',
    ]);
    for (const bad of ['file:///srv/imports/a.ndjson', 'file://host/srv/imports/', 'ftp://x/'])
      expect(() => loadConfig({ BULK_IMPORT_SOURCES: bad })).toThrow(/BULK_IMPORT_SOURCES/);
  });
});
