import { loadDefinitions } from './src/fhir/definitions.js';
import { IndexExtractor } from './src/fhir/search/extract.js';
import { readFileSync, readdirSync } from 'node:fs';
const defs = loadDefinitions();
const x = new IndexExtractor(defs);
const dir = '../shared/testdata/hl7-r4-examples';
let n = 0, rows = 0; const t0 = performance.now();
for (const f of readdirSync(dir)) { const r = JSON.parse(readFileSync(dir + '/' + f, 'utf8')); rows += x.extract(r).length; n++; }
const t1 = performance.now();
for (const f of readdirSync(dir)) { const r = JSON.parse(readFileSync(dir + '/' + f, 'utf8')); x.extract(r); }
console.log(n, rows, 'skipped', x.skipped, (t1 - t0).toFixed(0), 'ms first', (performance.now() - t1).toFixed(0), 'ms second');
const p = JSON.parse(readFileSync(dir + '/Patient-example.json', 'utf8'));
console.log(x.extract(p).map(r => r.param + ' ' + r.table + ' ' + JSON.stringify(r.values)).join('\n'));
