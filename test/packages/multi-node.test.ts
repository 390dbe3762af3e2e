import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useSecondNode } from '../support/second-node.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { installBody, outputs, tinyPackage } from './support.js';

/**
 * Installing on one API node of two on one PostgreSQL (docs/scale-out.md): node B, a `forlop serve` of its
 * own, installs; node A, which was serving all along, searches by the package's SearchParameter at its next
 * request and validates against its profile.
 */
const postgres = BACKENDS.find((b) => b.name === 'postgres')!;

describe('a package installed on one of two nodes', () => {
  const a = useServer(postgres);
  const b = useSecondNode(a);

  it('is used by the other node at its next request: the SearchParameter searches, the profile validates', async () => {
    const patient = { resourceType: 'Patient', id: 'kari', name: [{ use: 'nickname', given: ['Kari'] }] };
    expect((await a.http().put('/fhir/Patient/kari').set('Content-Type', FHIR_JSON).send(patient)).status).toBe(201);
    const pkg = await tinyPackage({ name: 'example.nodes', code: 'kallenavn' });
    const res = await b.http().post('/fhir/$install-package').set('Content-Type', FHIR_JSON).send(installBody(pkg.tgz));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(outputs(res.body, 'reindexed-type')).toEqual(['Patient']);

    const found = await a.http().get('/fhir/Patient').query({ kallenavn: 'Kari' }).set('Accept', FHIR_JSON);
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    expect(found.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['kari']);
    const validated = await a
      .http()
      .post('/fhir/Patient/$validate')
      .query({ profile: pkg.urls.profile })
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient' });
    const errors = validated.body.issue.filter((i: { severity: string }) => i.severity === 'error');
    expect(errors.map((i: { expression?: string[] }) => i.expression?.[0])).toContain('Patient.birthDate');
  });
});
