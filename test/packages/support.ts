import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { buildIndex } from '../../src/packages/index-file.js';

/**
 * Tiny FHIR packages built by the tests (nothing from outside): a profile, a SearchParameter, a
 * CodeSystem and its ValueSet, in a folder (`<dir>/package/…`) and as a `.tgz` of it.
 */
export const CANON = 'http://example.org/fhir/tiny';

export interface TinyOptions {
  name?: string;
  version?: string;
  /** The SearchParameter's code (a Patient's nickname); each package a file installs wants its own. */
  code?: string;
  dependencies?: Record<string, string>;
  fhirVersions?: unknown;
  /** Write `package/.index.json` (the default), leave it out, or write a wrong one. */
  index?: 'good' | 'none' | 'wrong';
  /** Files written as they are into `package/` (bad JSON …). */
  raw?: Record<string, string>;
  /** Resources added to `package/example/`. */
  examples?: object[];
}

export interface TinyPackage {
  name: string;
  version: string;
  /** The folder holding `package/`. */
  dir: string;
  tgz: string;
  /** The canonical urls of its resources, by type. */
  urls: { profile: string; searchParameter: string; codeSystem: string; valueSet: string };
  code: string;
}

export function tinyResources(name: string, version: string, code: string) {
  const url = (type: string, id: string) => `${CANON}/${type}/${id}`;
  const id = name.replace(/[^a-z0-9]+/g, '-');
  return [
    {
      resourceType: 'StructureDefinition',
      id: `${id}-patient`,
      url: url('StructureDefinition', `${id}-patient`),
      version,
      name: 'TinyPatient',
      status: 'active',
      kind: 'resource',
      abstract: false,
      type: 'Patient',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
      derivation: 'constraint',
      differential: {
        element: [
          { id: 'Patient', path: 'Patient' },
          { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 },
        ],
      },
    },
    {
      resourceType: 'SearchParameter',
      id: `${id}-${code}`,
      url: url('SearchParameter', `${id}-${code}`),
      version,
      name: code,
      status: 'active',
      description: "A patient's nickname",
      code,
      base: ['Patient'],
      type: 'string',
      expression: "Patient.name.where(use = 'nickname').given",
    },
    {
      resourceType: 'CodeSystem',
      id: `${id}-colours`,
      url: url('CodeSystem', `${id}-colours`),
      version,
      name: 'Colours',
      status: 'active',
      content: 'complete',
      concept: [
        { code: 'red', display: 'Red' },
        { code: 'green', display: 'Green' },
      ],
    },
    {
      resourceType: 'ValueSet',
      id: `${id}-colours`,
      url: url('ValueSet', `${id}-colours`),
      version,
      name: 'Colours',
      status: 'active',
      compose: { include: [{ system: url('CodeSystem', `${id}-colours`) }] },
    },
  ];
}

/** Writes a tiny package as a folder and as a `.tgz` (entries in file-name order). */
export async function tinyPackage(o: TinyOptions = {}): Promise<TinyPackage> {
  const name = o.name ?? 'example.tiny';
  const version = o.version ?? '1.0.0';
  const code = o.code ?? 'nickname';
  const dir = mkdtempSync(join(tmpdir(), 'forlop-tiny-'));
  const pkg = join(dir, 'package');
  mkdirSync(pkg);
  const manifest = {
    name,
    version,
    fhirVersions: o.fhirVersions ?? ['4.0.1'],
    dependencies: { 'hl7.fhir.r4.core': '4.0.1', ...o.dependencies },
  };
  writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest));
  const resources = tinyResources(name, version, code);
  const files = resources.map((r) => ({ filename: `${r.resourceType}-${r.id}.json`, resource: r as never }));
  for (const f of files) writeFileSync(join(pkg, f.filename), JSON.stringify(f.resource));
  for (const [file, text] of Object.entries(o.raw ?? {})) writeFileSync(join(pkg, file), text);
  if ((o.index ?? 'good') === 'good') writeFileSync(join(pkg, '.index.json'), JSON.stringify(buildIndex(files)));
  if (o.index === 'wrong')
    writeFileSync(join(pkg, '.index.json'), JSON.stringify({ 'index-version': 1, files: [{ filename: 'gone.json' }] }));
  if (o.examples?.length) {
    mkdirSync(join(pkg, 'example'));
    for (const r of o.examples as { resourceType: string; id: string }[])
      writeFileSync(join(pkg, 'example', `${r.resourceType}-${r.id}.json`), JSON.stringify(r));
  }
  const tgz = join(dir, `${name}-${version}.tgz`);
  await createTar({ gzip: true, cwd: dir, file: tgz }, ['package']);
  const [profile, searchParameter, codeSystem, valueSet] = resources.map((r) => r.url);
  return { name, version, dir, tgz, urls: { profile, searchParameter, codeSystem, valueSet }, code };
}

/** A `.tgz` with an entry whose path climbs out of the package (`../evil.json`) besides a valid package.json. */
export async function traversalPackage(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-evil-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'package'), { recursive: true });
  writeFileSync(
    join(root, 'package', 'package.json'),
    JSON.stringify({ name: 'example.evil', version: '1.0.0', fhirVersions: ['4.0.1'] }),
  );
  writeFileSync(join(dir, 'evil.json'), JSON.stringify({ resourceType: 'Basic', id: 'evil', code: { text: 'x' } }));
  const tgz = join(dir, 'evil.tgz');
  await createTar({ gzip: true, cwd: root, file: tgz, preservePaths: true }, ['package/package.json', '../evil.json']);
  return tgz;
}

/** The Parameters body of `$install-package` for a package file. */
export function installBody(tgz: string, more: object[] = []) {
  return {
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'package',
        valueAttachment: { contentType: 'application/gzip', data: readFileSync(tgz).toString('base64') },
      },
      ...more,
    ],
  };
}

/** One output parameter's value(s) of a Parameters answer. */
export function outputs(body: { parameter?: Record<string, unknown>[] }, name: string): unknown[] {
  return (body.parameter ?? [])
    .filter((p) => p.name === name)
    .map((p) => {
      const key = Object.keys(p).find((k) => k.startsWith('value'));
      return key ? p[key] : p;
    });
}
