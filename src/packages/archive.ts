import { Parser, type ReadEntry } from 'tar';
import { FhirError } from '../fhir/errors.js';

/** What a package may hold before it is refused: it is read into memory, never extracted to disk. */
export interface ArchiveLimits {
  /** The largest file (bytes, uncompressed). */
  maxEntryBytes: number;
  /** All files together (bytes, uncompressed). */
  maxTotalBytes: number;
  maxEntries: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntryBytes: 50 * 1024 * 1024,
  maxTotalBytes: 200 * 1024 * 1024,
  maxEntries: 20_000,
};

/** A package's files, by path inside the package (`package/package.json` …), as bytes. */
export type PackageFiles = Map<string, Buffer>;

function malformed(message: string): FhirError {
  return new FhirError('invalid', { message: `Not a valid FHIR package: ${message}`, expression: 'package' });
}

/**
 * Why an entry makes the archive unacceptable, if it does: a path that climbs out (`..`) or is absolute,
 * a link (it would point outside what was read), or a file over the limit. Checked before any byte of it
 * is read, so a hostile archive costs nothing.
 */
function refusal(entry: ReadEntry, limits: ArchiveLimits): string | undefined {
  const path = entry.path.replaceAll('\\', '/');
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path) || path.split('/').includes('..'))
    return `the entry '${path}' points outside the package`;
  if (entry.type === 'Link' || entry.type === 'SymbolicLink') return `the entry '${path}' is a link`;
  if ((entry.size ?? 0) > limits.maxEntryBytes) return `the entry '${path}' is over ${limits.maxEntryBytes} bytes`;
  return undefined;
}

/**
 * The files of a package tarball (`.tgz`, or an uncompressed tar) whose paths `wanted` accepts, read in
 * memory. Refused (400) when it is no tar at all, or an entry is refused (see `refusal`), or it is bigger
 * than the limits allow.
 */
export function readArchive(
  bytes: Buffer,
  wanted: (path: string) => boolean,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<PackageFiles> {
  return new Promise((resolve, reject) => {
    const files: PackageFiles = new Map();
    let total = 0;
    let entries = 0;
    let failure: FhirError | undefined;
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        const why = failure ? undefined : refusal(entry, limits);
        total += entry.size ?? 0;
        entries++;
        if (why) failure = malformed(why);
        else if (!failure && (total > limits.maxTotalBytes || entries > limits.maxEntries))
          failure = malformed(`over ${limits.maxTotalBytes} bytes or ${limits.maxEntries} files`);
        const path = entry.path.replaceAll('\\', '/').replace(/^\.\//, '');
        if (failure || entry.type !== 'File' || !wanted(path)) return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => files.set(path, Buffer.concat(chunks)));
      },
    });
    parser.on('error', (err: Error) => reject(failure ?? malformed(err.message)));
    parser.on('end', () => (failure ? reject(failure) : resolve(files)));
    parser.end(bytes);
  });
}
