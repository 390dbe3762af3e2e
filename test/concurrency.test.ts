import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './support/backends.js';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { FHIR_JSON, useServer } from './support/server.js';

/**
 * Concurrent writes from two server processes on one database (the test's in-process app and a child
 * started with the CLI): no lost update, no duplicate from a conditional create.
 */
const N = 20;

describe.each(BACKENDS)('concurrency on $name', (backend) => {
  const t = useServer(backend);
  let child: ChildServer;
  beforeAll(async () => {
    child = await startChildServer(t.databaseUrl);
  });
  afterAll(async () => {
    expect(await child.stop()).toBe(0); // graceful shutdown exits cleanly
  });

  /** Alternates requests between the two processes. */
  const target = (i: number) => (i % 2 === 0 ? request(t.app) : request(child.baseUrl));

  it('parallel updates with the same If-Match: exactly one wins, the others get 412', async () => {
    const created = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient' });
    const id = created.body.id;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        target(i)
          .put(`/fhir/Patient/${id}`)
          .set('Content-Type', FHIR_JSON)
          .set('If-Match', 'W/"1"')
          .send({ resourceType: 'Patient', id, name: [{ text: `writer ${i}` }] }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(N - 1);
    const current = await t.http().get(`/fhir/Patient/${id}`);
    expect(current.body.meta.versionId).toBe('2');
    const winner = results.find((r) => r.status === 200)!;
    expect(current.body.name).toEqual(winner.body.name);
  });

  it('parallel updates without If-Match: every write becomes its own version, none lost', async () => {
    const created = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient' });
    const id = created.body.id;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        target(i)
          .put(`/fhir/Patient/${id}`)
          .set('Content-Type', FHIR_JSON)
          .send({ resourceType: 'Patient', id, name: [{ text: `writer ${i}` }] }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: N }, (_, i) => i + 2));
    const history = await t.http().get(`/fhir/Patient/${id}/_history?_count=100`);
    expect(history.body.total).toBe(N + 1);
    const texts = history.body.entry
      .filter((e: { resource: { name?: unknown } }) => e.resource.name)
      .map((e: { resource: { name: { text: string }[] } }) => e.resource.name[0].text);
    expect(new Set(texts).size).toBe(N);
  });

  it('parallel conditional creates with the same If-None-Exist create exactly one resource', async () => {
    const identifier = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '03035512410' };
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        target(i)
          .post('/fhir/Patient')
          .set('Content-Type', FHIR_JSON)
          .set('If-None-Exist', `identifier=${identifier.system}|${identifier.value}`)
          .send({ resourceType: 'Patient', identifier: [identifier] }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(N - 1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const search = await t.http().get(`/fhir/Patient?identifier=${identifier.system}|${identifier.value}`);
    expect(search.body.total).toBe(1);
  });

  it('parallel conditional updates with the same criteria create one resource and version it', async () => {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        target(i)
          .put('/fhir/Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|983974899')
          .set('Content-Type', FHIR_JSON)
          .send({
            resourceType: 'Organization',
            identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '983974899' }],
            name: `Helse Bergen ${i}`,
          }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(N - 1);
    const search = await t.http().get('/fhir/Organization?identifier=983974899');
    expect(search.body.total).toBe(1);
    expect(search.body.entry[0].resource.meta.versionId).toBe(String(N));
  });
});
