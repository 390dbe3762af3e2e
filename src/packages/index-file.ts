import type { Resource } from '@medplum/fhirtypes';

/** One file of `.index.json` (FHIR NPM Package spec, index-version 1): what a tool needs without reading it. */
export interface IndexEntry {
  filename: string;
  resourceType: string;
  id?: string;
  url?: string;
  version?: string;
  kind?: string;
  type?: string;
}

export interface PackageIndex {
  'index-version': 1;
  files: IndexEntry[];
}

/** A resource of a package and the file it is in (the name inside its folder: `package/` or `package/example/`). */
export interface PackageResource {
  filename: string;
  resource: Resource;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The index entry of one file: its type and id, and the canonical url, version, kind and type when it has them. */
export function indexEntry({ filename, resource }: PackageResource): IndexEntry {
  const r = resource as Resource & Record<string, unknown>;
  return {
    filename,
    resourceType: r.resourceType,
    id: text(r.id),
    url: text(r.url),
    version: text(r.version),
    kind: text(r.kind),
    type: text(r.type),
  };
}

/** `.index.json` of a folder's resources, in file-name order. */
export function buildIndex(resources: readonly PackageResource[]): PackageIndex {
  const files = [...resources].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  return { 'index-version': 1, files: files.map(indexEntry) };
}
