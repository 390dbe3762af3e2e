import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type request from 'supertest';
import type { Bundle, CarePlan } from '@medplum/fhirtypes';
import { EXAMPLES_DIR } from '../../src/fhir/example-loader.js';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { xmlModel } from '../../src/xml/model.js';
import { resourceFromXml } from '../../src/xml/read.js';
import { resourceToXml } from '../../src/xml/write.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { usePathways } from '../pathways/support.js';

/**
 * The server's own operations in XML: the example journeys posted as XML transactions, then the pathway,
 * terminology and compartment operations asked for in XML answer what they answer in JSON.
 */
const FHIR_XML = 'application/fhir+xml';
const model = xmlModel(loadDefinitions().structures);
type Json = Record<string, any>;

const JOURNEYS = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.startsWith('journey-'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(EXAMPLES_DIR, f), 'utf8')) as Bundle);

function text(req: request.Test): request.Test {
  return req.buffer(true).parse((res, done) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => done(null, body));
  });
}

/** What changes from one call to the next (a Bundle's id and time, an expansion's): left out of the comparison. */
function steady(r: Json): Json {
  const { id: _id, meta: _meta, timestamp: _timestamp, ...rest } = r;
  if (r.expansion) {
    const { identifier: _identifier, timestamp: _when, ...expansion } = r.expansion;
    return { ...r, expansion };
  }
  return r.resourceType === 'Bundle' || r.resourceType === 'Parameters' ? rest : r;
}

describe.each(BACKENDS)('operations in XML, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);

  /** The same GET in JSON and in XML: the same status and the same resource. */
  async function sameInBoth(url: string): Promise<Json> {
    const json = await t.http().get(url).set('Accept', FHIR_JSON);
    const xml = await text(t.http().get(url).set('Accept', FHIR_XML));
    expect(xml.status, url).toBe(json.status);
    expect(xml.headers['content-type']).toBe('application/fhir+xml; charset=utf-8');
    expect(steady(resourceFromXml(model, xml.body as string, 64))).toEqual(steady(json.body));
    return json.body;
  }

  it('loads every example journey from an XML transaction', async () => {
    t.clock.set(new Date('2026-11-20T09:00:00Z'));
    for (const bundle of JOURNEYS) {
      const xml = resourceToXml(model, bundle as unknown as Json);
      const res = await t.http().post('/fhir').set('Content-Type', FHIR_XML).set('Accept', FHIR_JSON).send(xml);
      expect(res.status, JSON.stringify(res.body).slice(0, 1000)).toBe(200);
    }
  });

  it('answers $deadlines and Patient/$everything in XML as in JSON', async () => {
    const plans = JOURNEYS.flatMap((b) => (b.entry ?? []).map((e) => e.resource)).filter(
      (r): r is CarePlan => r?.resourceType === 'CarePlan',
    );
    expect(plans.length).toBeGreaterThanOrEqual(7);
    for (const plan of plans) {
      const deadlines = await sameInBoth(`/fhir/CarePlan/${plan.id}/$deadlines`);
      expect(deadlines.resourceType).toBe('Parameters');
      const everything = await sameInBoth(`/fhir/${plan.subject.reference}/$everything`);
      expect(everything.entry.length).toBeGreaterThan(3);
    }
  });

  it('answers terminology operations in XML as in JSON', async () => {
    const expand = await sameInBoth('/fhir/ValueSet/$expand?url=http://forlop.no/fhir/ValueSet/pathway-types');
    expect(expand.expansion.contains.length).toBe(8);
    const lookup = await sameInBoth('/fhir/CodeSystem/$lookup?system=urn:oid:2.16.578.1.12.4.1.1.9321&code=D11');
    expect(lookup.resourceType).toBe('Parameters');
  });

  it('answers searches with includes, and the pathways, in XML as in JSON', async () => {
    const plans = await sameInBoth('/fhir/CarePlan?_include=CarePlan:subject&_count=50');
    expect(plans.entry.some((e: Json) => e.search.mode === 'include')).toBe(true);
    await sameInBoth('/fhir/Task?_count=50');
    await sameInBoth('/fhir/PlanDefinition?_count=20');
  });
});
