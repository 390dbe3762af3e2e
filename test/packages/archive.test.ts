import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../src/fhir/errors.js';
import { DEFAULT_ARCHIVE_LIMITS, readArchive } from '../../src/packages/archive.js';
import { tinyPackage } from './support.js';

const everything = () => true;

async function refusal(bytes: Buffer, limits = DEFAULT_ARCHIVE_LIMITS): Promise<FhirError> {
  const err = await readArchive(bytes, everything, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FhirError);
  return err as FhirError;
}

describe('reading a package tarball', () => {
  it('refuses a file over the size limit, and a package over the total, before reading them', async () => {
    const pkg = await tinyPackage({ name: 'example.big' });
    const bytes = readFileSync(pkg.tgz);
    const one = await refusal(bytes, { ...DEFAULT_ARCHIVE_LIMITS, maxEntryBytes: 100 });
    expect([one.status, one.message]).toEqual([400, expect.stringMatching(/is over 100 bytes/)]);
    const all = await refusal(bytes, { ...DEFAULT_ARCHIVE_LIMITS, maxTotalBytes: 1000 });
    expect(all.message).toMatch(/over 1000 bytes or/);
    expect((await readArchive(bytes, everything)).size).toBe(6);
  });

  it('refuses a link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-link-'));
    mkdirSync(join(dir, 'package'));
    writeFileSync(join(dir, 'package', 'package.json'), '{}');
    symlinkSync('/etc/passwd', join(dir, 'package', 'passwd.json'));
    const tgz = join(dir, 'link.tgz');
    await createTar({ gzip: true, cwd: dir, file: tgz }, ['package/package.json', 'package/passwd.json']);
    expect((await refusal(readFileSync(tgz))).message).toMatch(/'package\/passwd\.json' is a link/);
  });
});
