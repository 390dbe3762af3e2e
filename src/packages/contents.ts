import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { PackageFiles } from './archive.js';
import type { PackageResource } from './index-file.js';
import { parseManifest, type PackageManifest } from './manifest.js';

/** A package read: its manifest and the resources it installs, and whether its `.index.json` was used. */
export interface PackageContents {
  manifest: PackageManifest;
  resources: PackageResource[];
  /** `used`: the index named the resource files; `built`: it was missing or wrong, the files were read. */
  index: 'used' | 'built';
}

/**
 * Which paths of a package are read: the files directly in `package/` (the package's own resources), and
 * those of `package/example/` only when examples are asked for. Other folders (`other/`, `openapi/` …) are
 * not defined by the package spec and not read.
 */
export function wantedPaths(examples: boolean): (path: string) => boolean {
  return (path) => /^package\/[^/]+$/.test(path) || (examples && /^package\/example\/[^/]*$/.test(path));
}

/** The resources of one folder of the package (`package/` or `package/example/`), each file parsed. */
function folderResources(files: PackageFiles, folder: string): { resources: PackageResource[]; used: boolean } {
  const parsed: PackageResource[] = [];
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const filename = path.slice(folder.length);
    if (!path.startsWith(folder) || filename.includes('/') || !filename.endsWith('.json')) continue;
    if (filename === 'package.json' || filename === '.index.json') continue;
    const value = parseJson(path, bytes);
    // a JSON file that is no resource (a tool's own file) is not the package's to install
    if (value && typeof value === 'object' && typeof (value as Resource).resourceType === 'string')
      parsed.push({ filename, resource: value as Resource });
  }
  const index = files.get(`${folder}.index.json`);
  const listed = index ? indexedFiles(index, parsed) : undefined;
  return listed ? { resources: listed, used: true } : { resources: parsed, used: false };
}

function parseJson(path: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new FhirError('invalid', {
      message: `Not a valid FHIR package: ${path} is not JSON (${(err as Error).message})`,
      expression: path,
    });
  }
}

/**
 * The resources `.index.json` names, in its order, when it is valid: index-version 1 or 2, and every entry
 * a file of the folder with the resource type and id it says. A wrong or stale index is not trusted: the
 * files themselves are read instead (undefined).
 */
function indexedFiles(bytes: Buffer, parsed: PackageResource[]): PackageResource[] | undefined {
  let index: { 'index-version'?: unknown; files?: unknown };
  try {
    index = JSON.parse(bytes.toString('utf8')) as typeof index;
  } catch {
    return undefined;
  }
  if ((index['index-version'] !== 1 && index['index-version'] !== 2) || !Array.isArray(index.files)) return undefined;
  const byName = new Map(parsed.map((p) => [p.filename, p]));
  const listed: PackageResource[] = [];
  for (const entry of index.files as { filename?: unknown; resourceType?: unknown; id?: unknown }[]) {
    const file = typeof entry?.filename === 'string' ? byName.get(entry.filename) : undefined;
    if (!file || file.resource.resourceType !== entry.resourceType || (entry.id ?? undefined) !== file.resource.id)
      return undefined;
    listed.push(file);
  }
  return listed;
}

/** Reads a package's files: the manifest (checked, see parseManifest) and its resources (and examples, if read). */
export function packageContents(files: PackageFiles): PackageContents {
  const manifestBytes = files.get('package/package.json');
  if (!manifestBytes)
    throw new FhirError('invalid', {
      message: 'Not a valid FHIR package: no package/package.json',
      expression: 'package',
    });
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  const own = folderResources(files, 'package/');
  const examples = folderResources(files, 'package/example/');
  const resources = [...own.resources, ...examples.resources.map((r) => ({ ...r, filename: `example/${r.filename}` }))];
  return { manifest, resources, index: own.used ? 'used' : 'built' };
}
