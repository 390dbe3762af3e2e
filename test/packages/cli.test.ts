import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { installedPackages } from '../../src/storage/package-tables.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { FORLOP_BIN } from '../support/forlop-process.js';
import { tinyPackage } from './support.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'forlop-cli-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `forlop package …` in a process of its own, on a SQLite file; its exit code and output. */
async function forlop(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`, BASE_URL: 'http://localhost:8080/fhir' };
  return run(process.execPath, [FORLOP_BIN, 'package', ...args], { env, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

describe('forlop package install', () => {
  it('installs a package folder store-only into the database, then refuses one with a missing dependency', async () => {
    const pkg = await tinyPackage({ name: 'example.cli' });
    const done = await forlop('install', pkg.dir, '--store-only');
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^Installed example\.cli#1\.0\.0 \(store-only, index used\): 4 created, 0 updated/);

    const needy = await tinyPackage({ name: 'example.cli-needy', dependencies: { 'example.absent': '1.0.0' } });
    const refused = await forlop('install', needy.tgz);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/error: Package example\.cli-needy#1\.0\.0 depends on example\.absent#1\.0\.0/);

    const storage = new SqliteStorage(join(dir, 'cli.db'));
    try {
      const installed = await installedPackages(storage);
      expect(installed.map((p) => [p.name, p.version, p.mode])).toEqual([['example.cli', '1.0.0', 'store-only']]);
    } finally {
      await storage.close();
    }
  }, 240_000);
});
