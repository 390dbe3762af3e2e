/**
 * `npm run conformance:validator`: runs the HL7 validator test cases (fhir-test-cases `validator/`,
 * `manifest.json`) through Forløp's validator and compares, case by case, whether we find errors and
 * how many with the Java reference validator's recorded outcome (`outcomes/java/…`).
 *
 * Cases run: FHIR R4 (4.0.x), JSON, no `packages` (none ship in ../shared), not `tx-dependent`, not
 * `use-test: false`, not run by Java with a setting we do not have (cases.ts), not excluded with a
 * written reason (exclusions.json). A case's `supporting` JSON files are loaded: StructureDefinitions as
 * profiles, CodeSystems and ValueSets as terminology for that case. A case's `profile` step is a second
 * comparison, against that profile. Java's errors that came from its terminology server (tx.fhir.org)
 * are not compared. Prints per module and in total; a whole run exits non-zero below the goals
 * (`--min`, valid/invalid agreement, default 90 %; `--min-count`, same error count, default 85 %) and
 * writes conformance/results/validator.json.
 *
 *   npm run conformance:validator -- [--source DIR] [--module NAME] [--filter TEXT] [--verbose]
 *                                     [--write FILE] [--min PERCENT] [--min-count PERCENT]
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
import { describeIssue, isError, javaErrors, readExclusions, skipReason, type Case, type Step } from './cases.js';

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
  /** Java's errors from its terminology server (tx.fhir.org), not compared offline. */
  javaServerErrors?: string[];
}

/** The goals (issue 23): agreement on valid/invalid and on the number of errors, in percent. */
const MIN_AGREE = 90;
const MIN_COUNT = 85;

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);

async function main(): Promise<void> {
  const source = resolve(
    arg('source') ?? join(import.meta.dirname, '../../../shared/conformance/fhir-test-cases-validator'),
  );
  const manifest = JSON.parse(readFileSync(join(source, 'manifest.json'), 'utf8')) as { 'test-cases': Case[] };
  const read = (f: string) => JSON.parse(readFileSync(join(source, f), 'utf8').replace(/^\uFEFF/, '')) as Resource;
  const exclusions = readExclusions();

  const dir = mkdtempSync(join(tmpdir(), 'forlop-validator-'));
  const storage = new SqliteStorage(join(dir, 'validator.db'));
  const svc = createServices({ storage, baseUrl: 'http://localhost/fhir' });
  await svc.ready;
  await loadTerminology(svc);
  const ours = loadProfiles(PROFILES_DIR);

  const comparisons: Comparison[] = [];
  const skipped = new Map<string, string[]>();
  for (const c of manifest['test-cases']) {
    if (arg('module') && c.module !== arg('module')) continue;
    if (arg('filter') && !c.name.includes(arg('filter') as string)) continue;
    const reason = skipReason(c, source, exclusions);
    if (reason) {
      skipped.set(reason, [...(skipped.get(reason) ?? []), c.name]);
      continue;
    }
    const support = (step: Step) =>
      (step.supporting ?? []).filter((f) => f.endsWith('.json') && existsSync(join(source, f))).map(read);
    const supporting = [...support(c), ...(c.profiles ?? []).map(read)];
    const run = async (step: 'base' | 'profile', extra: Resource[], profiles: string[], java: Step['java']) => {
      const theirs = javaErrors(source, java);
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
        java: theirs.compared.length,
        agree: mine.length > 0 === theirs.compared.length > 0,
        sameCount: mine.length === theirs.compared.length,
        ourErrors: mine.map(describeIssue),
        javaErrors: theirs.compared,
        ...(theirs.fromServer.length ? { javaServerErrors: theirs.fromServer } : {}),
      });
    };
    await run('base', [], [], c.java);
    const p = c.profile;
    if (p?.source && p.source.endsWith('.json') && existsSync(join(source, p.source)) && !p.packages?.length) {
      const profile = read(p.source) as StructureDefinition;
      await run('profile', [profile, ...support(p)], [profile.url as string], p.java);
    }
  }
  await storage.close();
  rmSync(dir, { recursive: true, force: true });

  const totals = report(comparisons, skipped);
  const partial = arg('module') !== undefined || arg('filter') !== undefined;
  const out = arg('write') ?? (partial ? undefined : join(import.meta.dirname, '../results/validator.json'));
  if (out) {
    const skippedOut = Object.fromEntries([...skipped].map(([k, v]) => [k, v.length]));
    const excluded = Object.fromEntries([...skipped].filter(([k]) => !COMMON.has(k)));
    writeFileSync(
      resolve(out),
      `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), totals, comparisons, skipped: skippedOut, excluded }, null, 2)}\n`,
    );
  }
  holdTheLine(totals, partial);
}

/** Reasons that cover many cases (printed as counts); any other is printed with its case names. */
const COMMON = new Set([
  'not R4',
  'not JSON',
  'case file not in the copy',
  'use-test false',
  'needs packages not in ../shared',
  'needs a terminology server',
  'matchetype mode (a template comparison, not validation)',
  'no Java outcome',
]);

interface Totals {
  cases: number;
  agree: number;
  sameCount: number;
  agreePercent: number;
  countPercent: number;
}

function report(comparisons: Comparison[], skipped: Map<string, string[]>): Totals {
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)} %` : '–');
  const count = (list: Comparison[]) =>
    [list.length, list.filter((c) => c.agree).length, list.filter((c) => c.sameCount).length] as const;
  const line = (name: string, [n, agree, same]: readonly [number, number, number]) =>
    `${name.padEnd(20)} ${String(n).padStart(6)} ${`${agree} (${pct(agree, n)})`.padStart(16)} ${`${same} (${pct(same, n)})`.padStart(16)}`;
  if (flag('verbose')) {
    for (const c of comparisons.filter((x) => !x.sameCount)) {
      process.stdout.write(`\n${c.agree ? '≠' : '✗'} ${c.case} [${c.step}] ours ${c.ours} / java ${c.java}\n`);
      for (const e of c.ourErrors.slice(0, 8)) process.stdout.write(`    ours: ${e}\n`);
      for (const e of c.javaErrors.slice(0, 8)) process.stdout.write(`    java: ${e}\n`);
    }
    process.stdout.write('\n');
  }
  process.stdout.write(
    `${'module'.padEnd(20)} ${'cases'.padStart(6)} ${'valid? agrees'.padStart(16)} ${'same count'.padStart(16)}\n`,
  );
  for (const m of [...new Set(comparisons.map((c) => c.module))].sort())
    process.stdout.write(`${line(m, count(comparisons.filter((c) => c.module === m)))}\n`);
  const [cases, agree, sameCount] = count(comparisons);
  process.stdout.write(`${line('total', [cases, agree, sameCount])}\n`);
  const remote = comparisons.filter((c) => c.javaServerErrors?.length);
  process.stdout.write(
    `\nnot compared: ${remote.reduce((n, c) => n + (c.javaServerErrors?.length ?? 0), 0)} of Java's errors in ` +
      `${remote.length} cases came from its terminology server (tx.fhir.org: LOINC, SNOMED CT, CVX … displays and codes)\n`,
  );
  const common = [...skipped].filter(([k]) => COMMON.has(k));
  process.stdout.write(`not run: ${common.map(([k, v]) => `${v.length} ${k}`).join(', ')}\n`);
  for (const [reason, names] of [...skipped].filter(([k]) => !COMMON.has(k)))
    process.stdout.write(`not run, ${reason}: ${names.join(', ')}\n`);
  const percent = (n: number) => (cases ? (100 * n) / cases : 0);
  return { cases, agree, sameCount, agreePercent: percent(agree), countPercent: percent(sameCount) };
}

/** Exits non-zero when a whole run (or one given `--min` / `--min-count`) is below the goals. */
function holdTheLine(t: Totals, partial: boolean): void {
  if (partial && arg('min') === undefined && arg('min-count') === undefined) return;
  const min = Number(arg('min') ?? MIN_AGREE);
  const minCount = Number(arg('min-count') ?? MIN_COUNT);
  if (!Number.isFinite(min) || !Number.isFinite(minCount)) throw new Error('--min and --min-count take a percentage');
  const said = `valid/invalid ${t.agreePercent.toFixed(1)} % (at least ${min} %), error count ${t.countPercent.toFixed(1)} % (at least ${minCount} %)`;
  if (t.agreePercent < min || t.countPercent < minCount) {
    process.stderr.write(`Below the goal: ${said}\n`);
    process.exitCode = 1;
  } else process.stdout.write(`Goal held: ${said}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
