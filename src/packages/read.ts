import { readFileSync, statSync } from 'node:fs';
import { FhirError } from '../fhir/errors.js';
import { readArchive } from './archive.js';
import { packageContents, wantedPaths, type PackageContents } from './contents.js';
import { readFolder } from './folder.js';

/** How a package is read: with its `package/example/` resources, or (the default) without them. */
export interface ReadOptions {
  examples?: boolean;
}

/** A package from the bytes of its tarball (`.tgz`), read in memory. */
export async function readPackageBytes(bytes: Buffer, options: ReadOptions = {}): Promise<PackageContents> {
  return packageContents(await readArchive(bytes, wantedPaths(options.examples ?? false)));
}

/** A package from a path: a tarball, or a folder (the unpacked package, or the folder holding `package/`). */
export async function readPackagePath(path: string, options: ReadOptions = {}): Promise<PackageContents> {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    throw new FhirError('not-found', `No package at ${path}`);
  }
  if (isFolder) return packageContents(readFolder(path, wantedPaths(options.examples ?? false)));
  return readPackageBytes(readFileSync(path), options);
}
