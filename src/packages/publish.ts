import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImplementationGuide, Resource } from '@medplum/fhirtypes';
import { create as createTar } from 'tar';
import { buildIndex, type PackageResource } from './index-file.js';

/** What a published package says of itself (package.json; FHIR NPM Package spec). */
export interface PublishManifest {
  name: string;
  version: string;
  canonical: string;
  title: string;
  description: string;
  license?: string;
  author?: string;
}

/** Every file of a published package gets this time, so the same input gives the same bytes. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00.000Z');

/**
 * package.json of a FHIR R4 package: name, version, `fhirVersions` ["4.0.1"], type `fhir.ig`, its canonical
 * and the one dependency every R4 package has, the core specification (hl7.fhir.r4.core 4.0.1).
 */
export function packageJson(m: PublishManifest): Record<string, unknown> {
  return {
    name: m.name,
    version: m.version,
    type: 'fhir.ig',
    canonical: m.canonical,
    url: m.canonical,
    title: m.title,
    description: m.description,
    fhirVersions: ['4.0.1'],
    dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
    ...(m.license ? { license: m.license } : {}),
    ...(m.author ? { author: m.author } : {}),
  };
}

/**
 * The ImplementationGuide the package spec asks a package to hold (SHOULD): url {canonical}/ImplementationGuide/
 * {name}, the package's name and version, FHIR 4.0.1.
 */
export function implementationGuide(m: PublishManifest): ImplementationGuide {
  return {
    resourceType: 'ImplementationGuide',
    id: m.name,
    url: `${m.canonical}/ImplementationGuide/${m.name}`,
    version: m.version,
    // a computable name (R4 inv-0: [A-Z][A-Za-z0-9_]*): forlop.fhir.r4 → ForlopFhirR4
    name: `.${m.name}`.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()),
    title: m.title,
    status: 'active',
    description: m.description,
    packageId: m.name,
    fhirVersion: ['4.0.1'],
  };
}

/** `Type-id.json`, the file name the IG Publisher gives a resource; two resources may not share one. */
function packageFiles(resources: readonly Resource[]): PackageResource[] {
  const files = new Map<string, PackageResource>();
  for (const resource of resources) {
    const filename = `${resource.resourceType}-${resource.id}.json`;
    if (!resource.id || files.has(filename)) throw new Error(`Two resources or none would be ${filename}`);
    files.set(filename, { filename, resource });
  }
  return [...files.values()].sort((a, b) => (a.filename < b.filename ? -1 : 1));
}

/**
 * Writes a FHIR package tarball (`outFile`, a `.tgz`): `package/package.json`, `package/.index.json`
 * (index-version 1) and each resource as `package/Type-id.json`. Deterministic: entries sorted, every
 * mtime fixed, no owner or mode of this machine (tar's portable mode), so the same resources give the
 * same bytes. Returns the files written, for a report.
 */
export async function writePackage(
  manifest: PublishManifest,
  resources: readonly Resource[],
  outFile: string,
): Promise<PackageResource[]> {
  const files = packageFiles([implementationGuide(manifest), ...resources]);
  const work = mkdtempSync(join(tmpdir(), 'forlop-package-'));
  try {
    const dir = join(work, 'package');
    mkdirSync(dir);
    const write = (name: string, value: unknown) => {
      writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
      chmodSync(join(dir, name), 0o644);
    };
    write('package.json', packageJson(manifest));
    write('.index.json', buildIndex(files));
    for (const f of files) write(f.filename, f.resource);
    mkdirSync(dirname(outFile), { recursive: true });
    const entries = ['package/package.json', 'package/.index.json', ...files.map((f) => `package/${f.filename}`)];
    await createTar({ gzip: true, portable: true, mtime: FIXED_MTIME, cwd: work, file: outFile }, entries);
    return files;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
