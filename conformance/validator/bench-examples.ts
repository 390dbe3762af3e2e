/**
 * A micro-benchmark of the validator on the write path: validates the 711 R4 examples (../shared),
 * as a create does (base definitions and meta.profile), several rounds; prints the median round.
 *
 *   npx tsx conformance/validator/bench-examples.ts [--rounds N] [--examples DIR]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { createServices } from '../../src/app/services.js';
import { PROFILES_DIR } from '../../src/fhir/definitions.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { loadTerminology } from '../../src/terminology/loader.js';
import { FhirValidator, loadProfiles } from '../../src/validation/validator.js';

async function main(): Promise<void> {
  const opt = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const rounds = Number(opt('rounds') ?? 5);
  const folder = opt('examples') ?? join(import.meta.dirname, '../../../shared/testdata/hl7-r4-examples');
  const examples = readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as Resource);
  const dir = mkdtempSync(join(tmpdir(), 'forlop-vbench-'));
  const storage = new SqliteStorage(join(dir, 'bench.db'));
  const svc = createServices({ storage, baseUrl: 'http://localhost/fhir' });
  await svc.ready;
  await loadTerminology(svc);
  const validator = new FhirValidator(svc.defs, svc.terminology, loadProfiles(PROFILES_DIR));
  for (const r of examples) await validator.validate(r); // warm up: schemas, compiled invariants
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (const r of examples) await validator.validate(r);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  process.stdout.write(
    `${examples.length} examples × ${rounds} rounds: median ${median.toFixed(0)} ms a round, ` +
      `${((1000 * median) / examples.length).toFixed(0)} µs an example (rounds ${times.map((t) => t.toFixed(0)).join(', ')})\n`,
  );
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
