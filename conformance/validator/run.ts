/**
 * `npm run conformance:validator`: runs the HL7 validator test cases (fhir-test-cases `validator/`,
 * `manifest.json`) through Forløp's validator and compares, case by case, whether we find errors and
 * how many with the Java reference validator's recorded outcome (`outcomes/java/…`).
 *
 * Cases run: FHIR R4 (4.0.x), JSON, no `packages` (no package registry here), not `tx-dependent` and
 * not the `tx` modules (they need tx.fhir.org's SNOMED CT, LOINC …), not `use-test: false`. A case's
 * `supporting` JSON files are loaded: StructureDefinitions as profiles, CodeSystems and ValueSets as
 * terminology for that case; a case needing XML support files is skipped and counted as such. A case's
 * `profile` step is a second comparison, against that profile.
 *
 *   npm run conformance:validator -- [--source DIR] [--module NAME] [--filter TEXT] [--verbose] [--write FILE]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CodeSystem, OperationOutcomeIssue, Resource, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { createServices } from '../../src/app/services.js';
import { PROFILES_DIR } from '../../src/fhir/definitions.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { loadTerminology } from '../../src/terminology/loader.js';
import { FhirValidator, loadProfiles } from '../../src/validation/validator.js';

interface Step {
  source?: string;
  supporting?: string[];
  java?: string | { outcome?: string | { issue?: OperationOutcomeIssue[] }; errorCount?: number; fatalCount?: number };
}
interface Case extends Step {
  name: string;
  file: string;
  module?: string;
  version?: string;
  packages?: string[];
  profiles?: string[];
  'use-test'?: boolean;
  'tx-dependent'?: boolean;
  matchetype?: boolean;
  profile?: Step;
}
interface Comparison {
  case: string;
  module: string;
  step: 'base' | 'profile';
  ours: number;
  java: number;
  agree: boolean;
  sameCount: boolean;
  ourErrors: string[];
  javaErrors: string[];
}

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const isError = (i: OperationOutcomeIssue) => i.severity === 'error' || i.severity === 'fatal';
const describeIssue = (i: OperationOutcomeIssue) =>
  `${i.expression?.[0] ?? ''}: ${i.details?.text ?? i.diagnostics ?? ''}`.slice(0, 160);

/** Why a case is not run, or undefined when it is. */
function skipReason(c: Case, source: string): string | undefined {
  if (c['use-test'] === false) return 'use-test false';
  if (!c.version?.startsWith('4.0')) return 'not R4';
  if (!c.file.endsWith('.json')) return 'not JSON';
  if (c.packages?.length) return 'needs packages';
  if (c['tx-dependent'] || c.module === 'tx' || c.module === 'tx-advanced') return 'needs a terminology server';
  if (!c.java) return 'no Java outcome';
  if (!existsSync(join(source, c.file))) return 'case file not in the copy';
  if (c.matchetype) return 'matchetype mode (a template comparison, not validation)';
  const support = [...(c.supporting ?? []), ...(c.profiles ?? [])];
  if (support.some((f) => !f.endsWith('.json') || !existsSync(join(source, f))))
    return 'needs XML or missing support files';
  return undefined;
}

/** The Java validator's errors: an outcome file, an inline outcome, or (older cases) an `errorCount`. */
function javaErrors(source: string, java: Step['java']): string[] | undefined {
  if (!java) return undefined;
  if (typeof java === 'object' && typeof java.outcome === 'object')
    return (java.outcome.issue ?? []).filter(isError).map(describeIssue);
  if (typeof java === 'object' && typeof java.errorCount === 'number') {
    return Array.from({ length: java.errorCount + (java.fatalCount ?? 0) }, () => '(counted in the manifest)');
  }
  const file = typeof java === 'string' ? java : java.outcome;
  if (typeof file !== 'string') return undefined;
  const path = join(source, 'outcomes', file);
  if (!existsSync(path)) return undefined;
  return ((JSON.parse(readFileSync(path, 'utf8')) as { issue?: OperationOutcomeIssue[] }).issue ?? [])
    .filter(isError)
    .map(describeIssue);
}

async function main(): Promise<void> {
  const source = resolve(
    arg('source') ?? join(import.meta.dirname, '../../../shared/conformance/fhir-test-cases-validator'),
  );
  const manifest = JSON.parse(readFileSync(join(source, 'manifest.json'), 'utf8')) as { 'test-cases': Case[] };
  const read = (f: string) => JSON.parse(readFileSync(join(source, f), 'utf8').replace(/^\uFEFF/, '')) as Resource;

  const dir = mkdtempSync(join(tmpdir(), 'forlop-validator-'));
  const storage = new SqliteStorage(join(dir, 'validator.db'));
  const svc = createServices({ storage, baseUrl: 'http://localhost/fhir' });
  await svc.ready;
  await loadTerminology(svc);
  const ours = loadProfiles(PROFILES_DIR);

  const comparisons: Comparison[] = [];
  const skipped = new Map<string, number>();
  for (const c of manifest['test-cases']) {
    if (arg('module') && c.module !== arg('module')) continue;
    if (arg('filter') && !c.name.includes(arg('filter') as string)) continue;
    const reason = skipReason(c, source);
    if (reason) {
      skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
      continue;
    }
    const support = (step: Step) =>
      (step.supporting ?? []).filter((f) => f.endsWith('.json') && existsSync(join(source, f))).map(read);
    const supporting = [...support(c), ...(c.profiles ?? []).map(read)];
    const run = async (
      step: 'base' | 'profile',
      extra: Resource[],
      profiles: string[],
      theirs: string[] | undefined,
    ) => {
      if (!theirs) return;
      const all = [...supporting, ...extra];
      const sds = all.filter(
        (r): r is StructureDefinition => r.resourceType === 'StructureDefinition' && r.derivation === 'constraint',
      );
      const terminology = all.filter(
        (r): r is CodeSystem | ValueSet => r.resourceType === 'CodeSystem' || r.resourceType === 'ValueSet',
      );
      const validator = new FhirValidator(svc.defs, svc.terminology, [...ours, ...sds]);
      let issues: OperationOutcomeIssue[];
      try {
        issues = await validator.validate(read(c.file), { profiles, terminology });
      } catch (err) {
        issues = [
          { severity: 'fatal', code: 'exception', diagnostics: `validator crashed: ${(err as Error).message}` },
        ];
      }
      const mine = issues.filter(isError);
      comparisons.push({
        case: c.name,
        module: c.module ?? '(none)',
        step,
        ours: mine.length,
        java: theirs.length,
        agree: mine.length > 0 === theirs.length > 0,
        sameCount: mine.length === theirs.length,
        ourErrors: mine.map(describeIssue),
        javaErrors: theirs,
      });
    };
    await run('base', [], [], javaErrors(source, c.java));
    const p = c.profile;
    if (p?.source && p.source.endsWith('.json') && existsSync(join(source, p.source))) {
      const profile = read(p.source) as StructureDefinition;
      await run('profile', [profile, ...support(p)], [profile.url as string], javaErrors(source, p.java));
    }
  }
  await storage.close();
  rmSync(dir, { recursive: true, force: true });

  report(comparisons, skipped);
  writeFileSync(
    resolve(arg('write') ?? join(import.meta.dirname, '../results/validator.json')),
    `${JSON.stringify({ comparisons, skipped: Object.fromEntries(skipped) }, null, 2)}\n`,
  );
}

function report(comparisons: Comparison[], skipped: Map<string, number>): void {
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)} %` : '–');
  const modules = [...new Set(comparisons.map((c) => c.module))].sort();
  const rows = modules.map((m) => {
    const list = comparisons.filter((c) => c.module === m);
    return [m, list.length, list.filter((c) => c.agree).length, list.filter((c) => c.sameCount).length] as const;
  });
  const total = [
    'total',
    comparisons.length,
    comparisons.filter((c) => c.agree).length,
    comparisons.filter((c) => c.sameCount).length,
  ] as const;
  const line = (r: readonly [string, number, number, number]) =>
    `${r[0].padEnd(20)} ${String(r[1]).padStart(6)} ${`${r[2]} (${pct(r[2], r[1])})`.padStart(16)} ${`${r[3]} (${pct(r[3], r[1])})`.padStart(16)}`;
  if (flag('verbose')) {
    for (const c of comparisons.filter((x) => !x.agree)) {
      process.stdout.write(`\n✗ ${c.case} [${c.step}] ours ${c.ours} / java ${c.java}\n`);
      for (const e of c.ourErrors.slice(0, 5)) process.stdout.write(`    ours: ${e}\n`);
      for (const e of c.javaErrors.slice(0, 5)) process.stdout.write(`    java: ${e}\n`);
    }
    process.stdout.write('\n');
  }
  process.stdout.write(
    `${'module'.padEnd(20)} ${'cases'.padStart(6)} ${'valid? agrees'.padStart(16)} ${'same count'.padStart(16)}\n`,
  );
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  process.stdout.write(`${line(total)}\n`);
  process.stdout.write(`\nnot run: ${[...skipped].map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
