import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { BACKENDS } from './support/backends.js';
import { startChildServer } from './support/child-server.js';
import { VALID_EXAMPLES } from './support/hl7-examples.js';
import { FHIR_JSON, useServer } from './support/server.js';

describe('configuration', () => {
  it('has defaults that serve the embedded database on loopback', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      baseUrl: 'http://localhost:8080/fhir',
      databaseUrl: 'sqlite:./data/forlop.db',
      validationMode: 'strict',
    });
    expect(c.limits.maxBodyBytes).toBe(20 * 1024 * 1024);
  });

  it('loads the example journeys for the embedded default only, unless told', () => {
    expect(loadConfig({}).loadExamples).toBe(true);
    expect(loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/test' }).loadExamples).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/test', LOAD_EXAMPLES: 'true' }).loadExamples).toBe(true);
    expect(loadConfig({ LOAD_EXAMPLES: 'false' }).loadExamples).toBe(false);
    expect(() => loadConfig({ LOAD_EXAMPLES: 'yes' })).toThrow(/LOAD_EXAMPLES/);
  });

  it('the registry schedule: cron, time zone and outbox from the environment, nonsense refused', () => {
    expect(loadConfig({})).toMatchObject({
      registryCron: '0 3 2 * *',
      registryTimezone: 'Europe/Oslo',
      registryOutbox: './data/outbox',
      registryPageSize: 5000,
    });
    expect(
      loadConfig({
        REGISTRY_CRON: '',
        REGISTRY_TIMEZONE: 'UTC',
        REGISTRY_OUTBOX: '/srv/npr',
        REGISTRY_PAGE_SIZE: '250',
      }),
    ).toMatchObject({ registryCron: '', registryTimezone: 'UTC', registryOutbox: '/srv/npr', registryPageSize: 250 });
    expect(() => loadConfig({ REGISTRY_PAGE_SIZE: '0' })).toThrow(/REGISTRY_PAGE_SIZE/);
    expect(() => loadConfig({ REGISTRY_CRON: 'monthly' })).toThrow(/REGISTRY_CRON/);
    expect(() => loadConfig({ REGISTRY_TIMEZONE: 'Mars/Olympus' })).toThrow(/REGISTRY_TIMEZONE/);
  });

  it('the indicator schedule: cron and time zone from the environment, empty turns it off, nonsense refused', () => {
    expect(loadConfig({})).toMatchObject({ measureCron: '30 3 2 * *', measureTimezone: 'Europe/Oslo' });
    expect(loadConfig({ MEASURE_CRON: '', MEASURE_TIMEZONE: 'UTC' })).toMatchObject({
      measureCron: '',
      measureTimezone: 'UTC',
    });
    expect(() => loadConfig({ MEASURE_CRON: 'monthly' })).toThrow(/^MEASURE_CRON must be a cron expression/);
    expect(() => loadConfig({ MEASURE_TIMEZONE: 'Mars/Olympus' })).toThrow(/^MEASURE_TIMEZONE must be an IANA/);
  });

  it('reads every setting from the environment and refuses nonsense', () => {
    const c = loadConfig({
      PORT: '9000',
      BASE_URL: 'https://fhir.example.no/r4/',
      MAX_BUNDLE_ENTRIES: '50',
      VALIDATION_MODE: 'lenient',
    });
    expect(c.port).toBe(9000);
    expect(c.baseUrl).toBe('https://fhir.example.no/r4');
    expect(c.limits.maxBundleEntries).toBe(50);
    expect(c.validationMode).toBe('lenient');
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ BASE_URL: '/' })).toThrow(/BASE_URL/);
    expect(() => loadConfig({ VALIDATION_MODE: 'maybe' })).toThrow(/VALIDATION_MODE/);
  });
});

describe.each(BACKENDS)('health and shutdown on $name', (backend) => {
  const t = useServer(backend);

  it('GET /healthz answers when the database does', async () => {
    const res = await t.http().get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', storage: backend.name });
  });

  it('a 409 answers a version written behind our back, and nothing is half-written', async () => {
    await t
      .http()
      .put('/fhir/Patient/raced')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'raced' });
    // another writer (not through this server's locks) has already written version 2 to history
    await t.storage.run(
      `INSERT INTO history (type, id, version, last_updated, deleted, method, content) VALUES ('Patient', 'raced', 2, 0, 0, 'PUT', '{}')`,
    );
    const res = await t
      .http()
      .put('/fhir/Patient/raced')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'raced', active: true });
    expect(res.status).toBe(409);
    expect(res.body.issue[0].code).toBe('conflict');
    const current = await t.http().get('/fhir/Patient/raced');
    expect(current.body.meta.versionId).toBe('1');
    expect(current.body.active).toBeUndefined();
  });

  it('on SIGTERM a server finishes the request in flight, then exits cleanly', async () => {
    // the in-flight transaction (710 validated resources) may outlast the default 10 s grace under test load
    const child = await startChildServer(t.databaseUrl, { SHUTDOWN_TIMEOUT_MS: '120000' });
    const entry = VALID_EXAMPLES.map((e) => e.resource).map((resource) => ({
      resource: { ...resource, id: `sd-${resource.id}`.slice(0, 64) },
      request: { method: 'PUT', url: `${resource.resourceType}/${`sd-${resource.id}`.slice(0, 64)}` },
    }));
    const inFlight = fetch(`${child.baseUrl}/fhir`, {
      method: 'POST',
      headers: { 'Content-Type': FHIR_JSON, Prefer: 'return=minimal' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    await new Promise((r) => setTimeout(r, 150)); // the request is being processed
    const exited = child.stop();
    const res = await inFlight;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entry: unknown[] };
    expect(body.entry).toHaveLength(entry.length);
    expect(await exited).toBe(0);
    // and it was committed
    expect((await t.http().get(`/fhir/${entry[0].resource.resourceType}/${entry[0].resource.id}`)).status).toBe(200);
  });
});
