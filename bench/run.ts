import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { restBench } from './rest.js';

/**
 * `npm run bench [-- --sizes 10000,100000 --seconds 10]`: prints the tables (markdown) and writes them
 * to bench/results/latest.md. Every figure is shown with its dataset size and beside its reference.
 */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const seconds = Number(arg('seconds', '10'));
const started = new Date();
const sections = [`## Benchmarks (${started.toISOString().slice(0, 10)}, ${process.version}, 2 cores)`, '', await restBench(sizes, seconds)];
const out = sections.join('\n');
process.stdout.write(`\n${out}\n`);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'latest.md'), `${out}\n`);
