import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FhirError } from '../fhir/errors.js';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits, type PackageFiles } from './archive.js';

/**
 * The files of an unpacked package: `dir/package/…` (a tarball extracted as it is), or `dir` itself when
 * it holds `package.json` (the package folder). Paths are named as in a tarball (`package/x.json`). Only
 * regular files of the folders `wanted` accepts are read; links are passed over, as the limits say.
 */
export function readFolder(
  dir: string,
  wanted: (path: string) => boolean,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): PackageFiles {
  const root = existsSync(join(dir, 'package', 'package.json')) ? join(dir, 'package') : dir;
  if (!existsSync(join(root, 'package.json')))
    throw new FhirError('invalid', `Not a FHIR package folder: no package.json in ${dir} or ${join(dir, 'package')}`);
  const files: PackageFiles = new Map();
  let total = 0;
  const walk = (folder: string, prefix: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = `${prefix}/${name}`;
      const stat = lstatSync(join(folder, name));
      if (stat.isDirectory()) {
        if (wanted(`${path}/`)) walk(join(folder, name), path);
        continue;
      }
      if (!stat.isFile() || !wanted(path)) continue;
      total += stat.size;
      if (stat.size > limits.maxEntryBytes || total > limits.maxTotalBytes || files.size >= limits.maxEntries)
        throw new FhirError('invalid', `Not a valid FHIR package: ${path} is over the size limits`);
      files.set(path, readFileSync(join(folder, name)));
    }
  };
  walk(root, 'package');
  return files;
}
