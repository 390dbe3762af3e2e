import { loadDefinitions } from '../src/fhir/definitions.js';
import { xmlModel } from '../src/xml/model.js';
import { resourceFromXml } from '../src/xml/read.js';
import { resourceToXml } from '../src/xml/write.js';
import { load, startServer, table, type LoadResult } from './harness.js';
import { patientBundle } from './patients.js';

/**
 * Issue 20's XML figures: reads and searches over HTTP (16 connections, the embedded backend, N patients)
 * in JSON and in XML in the same run, so the price of the conversion is the difference; and the converter
 * alone, one process, over the same patients' JSON: written as XML and read back, beside JSON.stringify
 * and JSON.parse.
 */
const XML = 'application/fhir+xml';
const JSON_TYPE = 'application/fhir+json';

async function seed(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let first = 0; first < n; first += 100) {
    const res = await fetch(`${url}/fhir`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: patientBundle(first, Math.min(100, n - first)),
    });
    const bundle = (await res.json()) as { entry?: { response: { location: string } }[] };
    for (const e of bundle.entry ?? []) ids.push(e.response.location.split('/')[1]);
  }
  return ids;
}

async function httpRows(n: number, seconds: number): Promise<(string | number)[][]> {
  const server = await startServer('forlop-sqlite');
  try {
    const ids = await seed(server.url, n);
    const pick = () => ids[Math.floor(Math.random() * ids.length)];
    const rows: (string | number)[][] = [];
    // both formats warmed first (JIT, the statement cache), so neither pays for starting the server
    for (const accept of [JSON_TYPE, XML]) {
      await load({ url: `${server.url}/fhir/Patient/${pick()}`, duration: 2, headers: { accept } });
    }
    for (const [what, accept] of [
      ['JSON', JSON_TYPE],
      ['XML', XML],
    ] as const) {
      const read = await load({
        url: `${server.url}/fhir/Patient/x`,
        duration: seconds,
        headers: { accept },
        setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}` }),
      });
      const search = await load({
        url: `${server.url}/fhir/Patient?address-city=Bergen&_count=50`,
        duration: seconds,
        headers: { accept },
      });
      rows.push(row(`read, ${what}`, n, read), row(`search of 50, ${what}`, n, search));
    }
    return rows;
  } finally {
    await server.stop();
  }
}

function row(what: string, n: number, r: LoadResult): (string | number)[] {
  return [what, n, r.rps, r.p50, r.p99, r.errors];
}

/** The converter alone over `count` resources: resources per second each way, beside JSON's own. */
function converterRows(resources: Record<string, unknown>[]): (string | number)[][] {
  const model = xmlModel(loadDefinitions().structures);
  const xml = resources.map((r) => resourceToXml(model, r));
  const json = resources.map((r) => JSON.stringify(r));
  const rate = (fn: () => void) => {
    fn(); // warm
    const started = performance.now();
    fn();
    return resources.length / ((performance.now() - started) / 1000);
  };
  return [
    ['write: JSON.stringify', rate(() => resources.forEach((r) => JSON.stringify(r)))],
    ['write: XML', rate(() => resources.forEach((r) => resourceToXml(model, r)))],
    ['read: JSON.parse', rate(() => json.forEach((t) => JSON.parse(t)))],
    ['read: XML', rate(() => xml.forEach((t) => resourceFromXml(model, t, 64)))],
  ];
}

export async function xmlBench(n: number, seconds: number): Promise<string> {
  const http = await httpRows(n, seconds);
  const patients = (JSON.parse(patientBundle(0, 2000)) as { entry: { resource: Record<string, unknown> }[] }).entry;
  const converter = converterRows(patients.map((e) => e.resource));
  return [
    '### XML (issue 20): the same reads and searches in JSON and in XML, embedded backend, 16 connections',
    table(['request', 'N', 'req/s', 'p50 ms', 'p99 ms', 'errors'], http),
    '',
    'The converter alone, 2,000 patients, one process (resources per second):',
    table(['conversion', 'resources/s'], converter),
  ].join('\n\n');
}
