import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { sameContent } from '../../src/fhir/same-content.js';
import type { PackageContents } from '../../src/packages/contents.js';
import { readPackageBytes } from '../../src/packages/read.js';
import { STARTUP_DEFINITIONS } from '../../src/server.js';
import { buildOwnPackage, PACKAGE_NAME } from '../../tools/package.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { installBody, outputs } from './support.js';

const built = () => buildOwnPackage(mkdtempSync(join(tmpdir(), 'forlop-own-')));

describe('the package of our own conformance (npm run package)', () => {
  let file: string;
  let pkg: PackageContents;
  beforeAll(async () => {
    file = await built();
    pkg = await readPackageBytes(readFileSync(file));
  });

  it('is the same bytes each time it is built', async () => {
    expect(readFileSync(await built()).equals(readFileSync(file))).toBe(true);
  });

  it('is a valid R4 package: manifest, an index that matches the files, an ImplementationGuide', () => {
    expect(file).toMatch(new RegExp(`${PACKAGE_NAME}-\\d+\\.\\d+\\.\\d+\\.tgz$`));
    expect(pkg.manifest.raw).toMatchObject({
      name: 'forlop.fhir.r4',
      type: 'fhir.ig',
      canonical: 'http://forlop.no/fhir',
      fhirVersions: ['4.0.1'],
      dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
    });
    // `used`: every entry of .index.json is a file of the package with the type and id it says
    expect(pkg.index).toBe('used');
    const ig = pkg.resources.find((r) => r.resource.resourceType === 'ImplementationGuide')!.resource;
    expect(ig).toMatchObject({
      url: 'http://forlop.no/fhir/ImplementationGuide/forlop.fhir.r4',
      packageId: 'forlop.fhir.r4',
      version: pkg.manifest.version,
    });
  });

  it('holds everything a start-up loads from our own files, and nothing else but the ImplementationGuide', () => {
    const shipped = STARTUP_DEFINITIONS.flatMap(([, , list]) => list()).map((r) => `${r.resourceType}/${r.id}`);
    const types = new Set(pkg.resources.map((r) => r.resource.resourceType));
    for (const type of ['PlanDefinition', 'StructureDefinition', 'SearchParameter', 'OperationDefinition'])
      expect(types, type).toContain(type);
    for (const type of ['CodeSystem', 'ValueSet', 'ConceptMap', 'Measure', 'Questionnaire', 'Basic'])
      expect(types, type).toContain(type);
    expect(pkg.resources.map((r) => `${r.resource.resourceType}/${r.resource.id}`).sort()).toEqual(
      [...shipped, 'ImplementationGuide/forlop.fhir.r4'].sort(),
    );
  });
});

describe.each(BACKENDS)('the round trip of our own package on $name', (backend) => {
  const t = useServer(backend);

  it('installs into a fresh server, where every resource of it is readable and the same', async () => {
    const none = await t.http().get('/fhir/$installed-packages').set('Accept', FHIR_JSON);
    expect([none.status, none.body.parameter]).toEqual([200, []]);
    const file = await built();
    const pkg = await readPackageBytes(readFileSync(file));
    const res = await t.http().post('/fhir/$install-package').set('Content-Type', FHIR_JSON).send(installBody(file));
    expect(res.status, JSON.stringify(res.body).slice(0, 2000)).toBe(200);
    expect(outputs(res.body, 'created')).toEqual([pkg.resources.length]);
    for (const { filename, resource } of pkg.resources) {
      const read = await t.http().get(`/fhir/${resource.resourceType}/${resource.id}`).set('Accept', FHIR_JSON);
      expect(read.status, filename).toBe(200);
      expect(sameContent(read.body as Resource, resource), filename).toBe(true);
      const url = (resource as { url?: string }).url;
      if (url) {
        const found = await t.http().get(`/fhir/${resource.resourceType}`).query({ url }).set('Accept', FHIR_JSON);
        expect(found.body.total, filename).toBe(1);
      }
    }
    const again = await t.http().post('/fhir/$install-package').set('Content-Type', FHIR_JSON).send(installBody(file));
    expect(outputs(again.body, 'unchanged')).toEqual([pkg.resources.length]);
  });
});
