import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { restBench } from './rest.js';
import { searchBench } from './search.js';

/**
 * `npm run bench [-- --suites rest,search --sizes 10000,100000 --search-sizes 100000,1000000 --seconds 10]`: prints the tables (markdown) and writes them
 * to bench/results/latest.md. Every figure is shown with its dataset size and beside its reference.
 */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const suites = arg('suites', 'rest,search').split(',');
const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const searchSizes = arg('search-sizes', '100000,1000000').split(',').map(Number);
const seconds = Number(arg('seconds', '10'));
const started = new Date();
const sections = [`## Benchmarks (${started.toISOString().slice(0, 10)}, ${process.version}, 2 cores)`, ''];
if (suites.includes('rest')) sections.push(await restBench(sizes, seconds), '');
if (suites.includes('search')) sections.push(await searchBench(searchSizes, Math.max(3, Math.round(seconds / 2)), Number(arg('peer-max', '100000'))), '');
const out = sections.join('\n');
process.stdout.write(`\n${out}\n`);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'latest.md'), `${out}\n`);
