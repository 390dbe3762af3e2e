import { describe, expect, it } from 'vitest';
import { BACKENDS } from './support/backends.js';
import {
  ALL_EXAMPLES,
  GENUINELY_INVALID,
  REFUSED_BY_RULE,
  VALID_EXAMPLES as EXAMPLES,
} from './support/hl7-examples.js';
import { FHIR_JSON, useServer } from './support/server.js';

/**
 * The R4 specification's 711 instance examples: each valid one created and read back equal apart
 * from meta; the one the specification gets wrong (support/hl7-examples.ts) refused.
 */
/** The resource without what the server owns: meta.versionId, meta.lastUpdated (and id when asked). */
function comparable(r: Record<string, unknown>, dropId: boolean): Record<string, unknown> {
  const { meta, id, ...rest } = r as { meta?: Record<string, unknown>; id?: string };
  const { versionId: _v, lastUpdated: _l, ...metaRest } = meta ?? {};
  return { ...rest, ...(dropId ? {} : { id }), ...(Object.keys(metaRest).length ? { meta: metaRest } : {}) };
}

describe.each(BACKENDS)('HL7 R4 examples on $name', (backend) => {
  const t = useServer(backend);

  it(`all ${EXAMPLES.length} valid examples commit in one transaction and read back equal`, async () => {
    expect(ALL_EXAMPLES.length).toBe(711);
    expect(EXAMPLES.length).toBe(711 - Object.keys(GENUINELY_INVALID).length - Object.keys(REFUSED_BY_RULE).length);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: EXAMPLES.map(({ resource }) => ({
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
      })),
    };
    const res = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=minimal')
      .send(bundle);
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(EXAMPLES.length);
    for (const e of res.body.entry) expect(e.response.status).toBe('201 Created');
    for (const { file, resource } of EXAMPLES) {
      const read = await t.http().get(`/fhir/${resource.resourceType}/${resource.id}`);
      expect(read.status, file).toBe(200);
      expect(comparable(read.body, false), file).toEqual(comparable(resource, false));
    }
  });

  it('a transaction of all examples with one bad entry changes nothing', async () => {
    const before = (await t.http().get('/fhir/_history?_count=0')).body.total;
    const entry = EXAMPLES.map(({ resource }) => ({
      resource: { ...resource, id: `${resource.id}-2`.slice(0, 64) },
      request: { method: 'PUT', url: `${resource.resourceType}/${`${resource.id}-2`.slice(0, 64)}` },
    }));
    entry.push({
      resource: { resourceType: 'Patient', id: 'broken', birthDate: ['1970-01-01'] } as never,
      request: { method: 'PUT', url: 'Patient/broken' },
    });
    const res = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'transaction', entry });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression[0]).toBe(`Bundle.entry[${EXAMPLES.length}].resource.birthDate`);
    expect((await t.http().get('/fhir/_history?_count=0')).body.total).toBe(before);
  });

  it('the examples the specification gets wrong are refused with 422, naming the element', async () => {
    for (const [file, { expression }] of Object.entries(GENUINELY_INVALID)) {
      const { resource } = ALL_EXAMPLES.find((e) => e.file === file)!;
      const res = await t.http().post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
      expect(res.status, file).toBe(422);
      expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0])).toContain(expression);
    }
  });

  it("the examples the server's own rules refuse from a client are 422, naming the element", async () => {
    for (const [file, { expression }] of Object.entries(REFUSED_BY_RULE)) {
      const { resource } = ALL_EXAMPLES.find((e) => e.file === file)!;
      const res = await t.http().post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
      expect(res.status, file).toBe(422);
      expect(
        res.body.issue.map((i: { expression?: string[] }) => i.expression?.[0]),
        file,
      ).toContain(expression);
    }
  });

  it('every valid example can be created with POST and read back equal apart from id and meta', async () => {
    for (const { file, resource } of EXAMPLES) {
      const created = await t
        .http()
        .post(`/fhir/${resource.resourceType}`)
        .set('Content-Type', FHIR_JSON)
        .send(resource);
      expect(created.status, file).toBe(201);
      const read = await t.http().get(`/fhir/${resource.resourceType}/${created.body.id}`);
      expect(comparable(read.body, true), file).toEqual(comparable(resource, true));
    }
  });
});

describe.each(BACKENDS)('the Subscription example, its endpoint allowed ($name)', (backend) => {
  const t = useServer(backend, { subscriptions: { endpoints: ['https://biliwatch.com/'] } });

  it('is created as requested and read back equal apart from id and meta', async () => {
    const { resource } = ALL_EXAMPLES.find((e) => e.file === 'Subscription-example.json')!;
    const created = await t.http().post('/fhir/Subscription').set('Content-Type', FHIR_JSON).send(resource);
    expect(created.status).toBe(201);
    const read = await t.http().get(`/fhir/Subscription/${created.body.id}`);
    expect(comparable(read.body, true)).toEqual(comparable(resource, true));
  });
});
