import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { restBench } from './rest.js';
import { searchBench } from './search.js';
import { terminologyBench } from './terminology.js';
import { validationBench } from './validation.js';
import { pathwaysBench } from './pathways.js';
import { securityBench } from './security.js';
import { registryBench } from './registry.js';

/**
 * `npm run bench [-- --suites rest,search,terminology,validation,… --sizes 10000,100000
 * --search-sizes 100000,1000000 --terminology-sizes 10000,100000 --pathway-sizes 10000,100000
 * --apply-count 1000 --security-size 10000 --registry-sizes 10000,100000 [--registry-db dir] --seconds 10
 * --measure-sizes 10000 [--measure-db dir] --everything-sizes 1000 --webapp-sizes 5000 --subscription-sizes 1000
 * --xml-size 10000 --export-sizes 20000 [--baseline dir --rounds 3]]`: every suite by default; prints the
 * tables (markdown) and writes each suite's to bench/results/<suite>.md. Every figure is shown with its
 * dataset size and beside its reference.
 */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const ALL =
  'rest,search,terminology,validation,pathways,security,registry,measures,everything,webapp,subscriptions,xml,export';
const suites = arg('suites', ALL).split(',');
const pathwaySizes = arg('pathway-sizes', '10000,100000').split(',').map(Number);
const terminologySizes = arg('terminology-sizes', '10000,100000').split(',').map(Number);
const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const searchSizes = arg('search-sizes', '100000,1000000').split(',').map(Number);
const seconds = Number(arg('seconds', '10'));
// read by the harness, which starts the baseline's servers from that checkout
if (arg('baseline', '')) process.env.BENCH_BASELINE = arg('baseline', '');
const started = new Date();
const header = `## Benchmarks (${started.toISOString().slice(0, 10)}, ${process.version}, 2 cores)`;
const results: [suite: string, text: string][] = [];
if (suites.includes('rest')) results.push(['rest', await restBench(sizes, seconds, Number(arg('rounds', '1')))]);
if (suites.includes('terminology'))
  results.push(['terminology', await terminologyBench(terminologySizes, Math.max(3, Math.round(seconds / 2)))]);
if (suites.includes('validation'))
  results.push(['validation', await validationBench(Math.max(2, Math.round(seconds / 2)))]);
if (suites.includes('pathways'))
  results.push(['pathways', await pathwaysBench(pathwaySizes, Number(arg('apply-count', '1000')))]);
if (suites.includes('security'))
  results.push(['security', await securityBench(Number(arg('security-size', '10000')), seconds)]);
if (suites.includes('dpop')) {
  const { dpopBench } = await import('./dpop.js');
  const { makeKeys } = await import('../test/security/support.js');
  results.push(['dpop', await dpopBench(await makeKeys(), seconds)]);
}
if (suites.includes('registry'))
  results.push([
    'registry',
    await registryBench(
      arg('registry-sizes', '10000,100000').split(',').map(Number),
      Number(arg('apply-count', '1000')),
      arg('registry-db', '') || undefined,
    ),
  ]);
if (suites.includes('measures')) {
  const { measuresBench } = await import('./measures.js');
  const measureSizes = arg('measure-sizes', '10000').split(',').map(Number);
  results.push(['measures', await measuresBench(measureSizes, Number(arg('apply-count', '1000')))]);
}
if (suites.includes('everything')) {
  const { everythingBench } = await import('./everything.js');
  const everythingSizes = arg('everything-sizes', '1000').split(',').map(Number);
  results.push(['everything', await everythingBench(everythingSizes, Number(arg('apply-count', '1000')))]);
}
if (suites.includes('subscriptions')) {
  const { subscriptionsBench } = await import('./subscriptions.js');
  const subscriptionSizes = arg('subscription-sizes', '1000').split(',').map(Number);
  results.push(['subscriptions', await subscriptionsBench(subscriptionSizes)]);
}
if (suites.includes('xml')) {
  const { xmlBench } = await import('./xml.js');
  results.push(['xml', await xmlBench(Number(arg('xml-size', '10000')), seconds)]);
}
if (suites.includes('export')) {
  const { exportBench } = await import('./export.js');
  results.push(['export', await exportBench(arg('export-sizes', '20000').split(',').map(Number))]);
}
if (suites.includes('webapp')) {
  const { webappBench } = await import('./webapp.js');
  results.push(['webapp', await webappBench(arg('webapp-sizes', '5000').split(',').map(Number))]);
}
if (suites.includes('search'))
  results.push([
    'search',
    await searchBench(searchSizes, Math.max(3, Math.round(seconds / 2)), Number(arg('peer-max', '100000'))),
  ]);
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
for (const [suite, text] of results) {
  process.stdout.write(`\n${header}\n\n${text}\n`);
  // one file per suite, so a run of one suite leaves the others' last figures in place
  writeFileSync(join(dir, `${suite}.md`), `${header}\n\n${text}\n`);
}
