/**
 * `npm run conformance:tx`: runs the HL7 terminology ecosystem tests (`test-cases.json` of
 * tx-ecosystem-tests) against Forløp over HTTP, on a fresh embedded database.
 *
 * For each suite in the `general` mode (the tests every server is expected to pass) it sends every
 * test's request, with the suite's setup resources as `tx-resource` parameters (the tests assume a
 * server accepts code systems on the fly), and compares the answer with the expected response
 * template (compare.ts). Prints pass/fail per suite and in total; `--verbose` prints each failure.
 * A whole run exits non-zero when fewer than `--min` percent of the tests run pass (default: the
 * score reached, MIN_PERCENT), so CI holds the line; `--suite` and `--filter` runs only report.
 *
 *   npm run conformance:tx -- [--source DIR] [--suite NAME] [--filter TEXT] [--verbose] [--flat]
 *                             [--write FILE] [--min PERCENT]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import { compare, scrub, type CompareOptions } from './compare.js';

interface Test {
  name: string;
  operation: string;
  request?: string;
  response: string;
  'response:flat'?: string;
  'http-code'?: string;
  mode?: string;
  version?: string;
  profile?: string;
  'Accept-Language'?: string;
  header?: { name: string; value: string; mode?: string };
  [key: `response:${string}`]: string | undefined;
}
interface Suite {
  name: string;
  mode?: string;
  setup?: string[];
  tests: Test[];
}

/**
 * The share of the run tests that must pass: the score reached (raise it as fixes land). The tests
 * run are the suite's non-optional ones: those of the `general` mode, which every server is expected
 * to pass; suites and tests of the other modes (`tx.fhir.org`, `snomed`, `omop`, `icd-11`) are
 * optional, for servers with that content or role, and are counted as skipped.
 */
const MIN_PERCENT = 97.8;

const ENDPOINTS: Record<string, string> = {
  expand: 'ValueSet/$expand',
  'validate-code': 'ValueSet/$validate-code',
  'cs-validate-code': 'CodeSystem/$validate-code',
  lookup: 'CodeSystem/$lookup',
  subsumes: 'CodeSystem/$subsumes',
  translate: 'ConceptMap/$translate',
  'batch-validate': 'ValueSet/$batch-validate-code',
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

async function main(): Promise<void> {
  const source = resolve(arg('source') ?? join(import.meta.dirname, '../../../shared/conformance/tx-ecosystem-tests'));
  const cases = JSON.parse(readFileSync(join(source, 'test-cases.json'), 'utf8')) as { suites: Suite[] };
  const modes = new Set(['general', ...(flag('flat') ? ['flat'] : [])]);
  const options: CompareOptions = { modes, fhirVersion: '4.0.1' };
  const read = (f: string) => JSON.parse(readFileSync(join(source, f), 'utf8').replace(/^\uFEFF/, ''));

  const dir = mkdtempSync(join(tmpdir(), 'forlop-tx-'));
  const storage = await openStorage(`sqlite:${join(dir, 'tx.db')}`);
  // the HL7 tests follow tx.fhir.org: a wrong display fails validation unless the request is lenient
  const { app, ready } = buildApp({
    storage,
    baseUrl: 'http://localhost/fhir',
    log: silentLog,
    terminology: { lenientDisplay: false, maxExpansionSize: 1000 },
  });
  await ready;
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;

  const rows: { suite: string; passed: number; failed: number; skipped: number; failures: string[] }[] = [];
  for (const suite of cases.suites) {
    if (arg('suite') && suite.name !== arg('suite')) continue;
    const suiteMode = suite.mode ?? 'general';
    if (!modes.has(suiteMode)) {
      rows.push({
        suite: `${suite.name} (mode ${suiteMode}: not run)`,
        passed: 0,
        failed: 0,
        skipped: suite.tests.length,
        failures: [],
      });
      continue;
    }
    const setup = (suite.setup ?? []).map(read);
    const row = { suite: suite.name, passed: 0, failed: 0, skipped: 0, failures: [] as string[] };
    for (const test of suite.tests) {
      if (arg('filter') && !test.name.includes(arg('filter') as string)) continue;
      const skip =
        (test.mode && !modes.has(test.mode)) || (test.version && !versionApplies(test.version, options.fhirVersion));
      if (skip) {
        row.skipped++;
        continue;
      }
      const failure = await runTest(base, source, test, setup, read, options).catch(
        (e: Error) => `exception: ${e.message}`,
      );
      if (failure) {
        row.failed++;
        row.failures.push(`${test.name}: ${failure}`);
        if (flag('verbose')) console.log(`FAIL ${suite.name}/${test.name}: ${failure}`);
      } else row.passed++;
    }
    rows.push(row);
  }
  server.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });

  const width = Math.max(...rows.map((r) => r.suite.length));
  console.log(`\n${'suite'.padEnd(width)}  passed  failed  skipped`);
  for (const r of rows)
    console.log(
      `${r.suite.padEnd(width)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}`,
    );
  const passed = rows.reduce((n, r) => n + r.passed, 0);
  const failed = rows.reduce((n, r) => n + r.failed, 0);
  console.log(
    `\nTotal (modes ${[...modes].join('+')}): ${passed} passed, ${failed} failed of ${passed + failed} run (${((100 * passed) / Math.max(1, passed + failed)).toFixed(1)} %)`,
  );
  const out = arg('write');
  const run = { modes: [...modes], nonOptional: passed + failed };
  if (out) writeFileSync(out, `${JSON.stringify({ passed, failed, ...run, suites: rows }, null, 1)}\n`);
  holdTheLine(passed, failed);
}

/** Fails the process when a whole run (or one given `--min`) scores below the goal. */
function holdTheLine(passed: number, failed: number): void {
  const partial = arg('suite') !== undefined || arg('filter') !== undefined;
  if (partial && arg('min') === undefined) return;
  const min = Number(arg('min') ?? MIN_PERCENT);
  if (!Number.isFinite(min)) throw new Error(`--min takes a percentage, not ${arg('min')}`);
  const percent = (100 * passed) / Math.max(1, passed + failed);
  if (percent < min) {
    console.error(`Below the goal: ${percent.toFixed(1)} % passed, at least ${min} % wanted`);
    process.exitCode = 1;
  } else console.log(`Goal held: ${percent.toFixed(1)} % passed, at least ${min} % wanted`);
}

function versionApplies(spec: string, fhirVersion: string): boolean {
  return spec.startsWith('!') ? !fhirVersion.startsWith(spec.slice(1)) : fhirVersion.startsWith(spec);
}

async function runTest(
  base: string,
  _source: string,
  test: Test,
  setup: unknown[],
  read: (f: string) => any,
  options: CompareOptions,
): Promise<string | null> {
  // TxTester.chooseParam: a `response:MODE` file for a mode in force replaces `response`
  const modeResponse = [...options.modes].map((m) => test[`response:${m}`]).find((f) => f);
  const expected = read(modeResponse ?? test.response);
  const headers: Record<string, string> = { Accept: 'application/fhir+json' };
  if (test['Accept-Language']) headers['Accept-Language'] = test['Accept-Language'];
  if (test.header && (!test.header.mode || options.modes.has(test.header.mode)))
    headers[test.header.name] = test.header.value;
  let res: Response;
  if (test.operation === 'metadata' || test.operation === 'term-caps') {
    res = await fetch(`${base}/metadata${test.operation === 'term-caps' ? '?mode=terminology' : ''}`, { headers });
    const body = await res.json();
    return res.status === 200 ? compare(expected, body, { ...options, subset: true }) : `status ${res.status}`;
  }
  const endpoint = ENDPOINTS[test.operation];
  if (!endpoint) return `operation ${test.operation} is not supported`;
  const params = read(test.request as string) as { parameter?: unknown[] };
  const parameter = [...(params.parameter ?? [])];
  // TxTester.loadProfile: the test's profile, else parameters-default.json, goes with every request
  parameter.push(...((read(test.profile ?? 'parameters-default.json') as { parameter?: unknown[] }).parameter ?? []));
  for (const r of setup) parameter.push({ name: 'tx-resource', resource: r });
  res = await fetch(`${base}/${endpoint}`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter }),
  });
  const body = await res.json();
  const wanted = test['http-code'] ?? '2xx'; // TxTester.getResponseCode
  // a class of codes (`2xx`, `4xx`) or one code
  const statusOk = /^\dxx$/.test(wanted) ? String(res.status)[0] === wanted[0] : String(res.status) === wanted;
  if (!statusOk) return `status ${res.status}, expected ${wanted}: ${JSON.stringify(body).slice(0, 400)}`;
  scrub(body);
  const diff = compare(expected, body, options);
  if (diff && flag('show')) console.log(JSON.stringify(body, null, 1));
  return diff;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
