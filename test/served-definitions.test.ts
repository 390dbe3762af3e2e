import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROFILES_DIR } from '../src/fhir/definitions.js';
import { MEASURES_DIR } from '../src/measures/loader.js';
import { STARTUP_DEFINITIONS } from '../src/server.js';
import { VALUESETS_DIR } from '../src/terminology/loader.js';
import { BACKENDS } from './support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from './support/server.js';

/** What each canonical-valued element of a CapabilityStatement refers to (R4 CapabilityStatement, §6.1). */
const CANONICAL_ELEMENTS: Record<string, string> = {
  definition: '', // an operation's OperationDefinition or a search parameter's SearchParameter: by its parent
  profile: 'StructureDefinition',
  supportedProfile: 'StructureDefinition',
  compartment: 'CompartmentDefinition',
  instantiates: 'CapabilityStatement',
  imports: 'CapabilityStatement',
  implementationGuide: 'ImplementationGuide',
};

interface Named {
  type: string;
  url: string;
  where: string;
}

/** Every canonical the statement names, with the type it must be, found by walking the whole statement. */
function canonicalsNamed(value: unknown, where = '', parent = ''): Named[] {
  if (Array.isArray(value)) return value.flatMap((v) => canonicalsNamed(v, where, parent));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]): Named[] => {
    const path = `${where}.${key}`;
    if (key in CANONICAL_ELEMENTS && (typeof v === 'string' || Array.isArray(v))) {
      const urls = (Array.isArray(v) ? v : [v]).filter((u): u is string => typeof u === 'string');
      const type = CANONICAL_ELEMENTS[key] || (parent === 'searchParam' ? 'SearchParameter' : 'OperationDefinition');
      return urls.map((url) => ({ type, url, where: path }));
    }
    return canonicalsNamed(v, path, key);
  });
}

/** The canonical resources a folder ships: type and url of each `*.json` with a url. */
function shipped(dir: string): { type: string; url: string; version?: string; file: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, r: JSON.parse(readFileSync(join(dir, file), 'utf8')) }))
    .filter(({ r }) => typeof r.url === 'string')
    .map(({ file, r }) => ({ type: r.resourceType as string, url: r.url as string, version: r.version, file }));
}

async function findByUrl(t: TestServer, type: string, url: string) {
  const res = await t.http().get(`/fhir/${type}`).query({ url }).set('Accept', FHIR_JSON);
  expect(res.status, `${type}?url=${url}`).toBe(200);
  return res.body as { total: number; entry?: { resource: { id: string; url: string; version?: string } }[] };
}

describe.each(BACKENDS)('served definitions on $name', (backend) => {
  const t = useServer(backend);
  beforeAll(async () => {
    // what a start-up stores (src/server.ts), less the schema compilation and the examples
    for (const [, load] of STARTUP_DEFINITIONS) await load(t.services);
  });

  it('every canonical the CapabilityStatement names resolves on this server by search on url', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    const named = canonicalsNamed(cs);
    const distinct = [...new Map(named.map((n) => [`${n.type}|${n.url}`, n])).values()];
    // what it names: our operations and profiles, our SearchParameter, FHIR's operations and compartment
    expect(distinct.map((n) => n.type)).toEqual(
      expect.arrayContaining([
        'OperationDefinition',
        'StructureDefinition',
        'SearchParameter',
        'CompartmentDefinition',
      ]),
    );
    expect(distinct).toContainEqual(
      expect.objectContaining({ url: 'http://forlop.no/fhir/StructureDefinition/forlop-patient' }),
    );
    const unresolved: string[] = [];
    for (const n of distinct) {
      const found = await findByUrl(t, n.type, n.url);
      const match = found.entry?.find((e) => e.resource.url === n.url);
      if (!match) unresolved.push(`${n.type} ${n.url} (${n.where})`);
    }
    expect(unresolved).toEqual([]);
  });

  it('every definition the server ships is stored, readable and searchable by canonical url', async () => {
    const files = [...shipped(PROFILES_DIR), ...shipped(VALUESETS_DIR), ...shipped(MEASURES_DIR)];
    const types = new Set(files.map((f) => f.type));
    for (const type of ['OperationDefinition', 'SearchParameter', 'StructureDefinition', 'PlanDefinition'])
      expect(types).toContain(type);
    for (const type of ['CodeSystem', 'ValueSet', 'Measure']) expect(types).toContain(type);
    for (const f of files) {
      const found = await findByUrl(t, f.type, f.url);
      const match = found.entry?.find((e) => e.resource.url === f.url && e.resource.version === f.version);
      expect(match, `${f.file} (${f.type} ${f.url})`).toBeDefined();
      const read = await t.http().get(`/fhir/${f.type}/${match!.resource.id}`);
      expect(read.status, f.file).toBe(200);
      expect(read.body.url).toBe(f.url);
    }
  });

  it('a tester can read what a forlop-patient needs, and FHIR’s own $expand definition', async () => {
    const patient = await findByUrl(
      t,
      'StructureDefinition',
      'http://forlop.no/fhir/StructureDefinition/forlop-patient',
    );
    expect(patient.total).toBe(1);
    const sd = (await t.http().get(`/fhir/StructureDefinition/${patient.entry![0].resource.id}`)).body;
    expect(sd.type).toBe('Patient');
    expect(sd.differential.element.length).toBeGreaterThan(0);
    const expand = await findByUrl(t, 'OperationDefinition', 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand');
    expect(expand.total).toBe(1);
    const op = expand.entry![0].resource as unknown as { code: string; parameter: unknown[] };
    expect(op.code).toBe('expand');
    expect(op.parameter.length).toBeGreaterThan(0);
  });

  it('loading again at the next start stores no new version of anything', async () => {
    const before = (await t.http().get('/fhir/OperationDefinition/_history').query({ _count: 0 })).body.total;
    for (const [what, load] of STARTUP_DEFINITIONS) {
      const report = await load(t.services);
      expect(report.created + report.updated, what).toBe(0);
      expect(report.unchanged).toBeGreaterThan(0);
    }
    const after = (await t.http().get('/fhir/OperationDefinition/_history').query({ _count: 0 })).body.total;
    expect(after).toBe(before);
    const reindex = await findByUrl(t, 'OperationDefinition', 'http://forlop.no/fhir/OperationDefinition/reindex');
    const id = reindex.entry![0].resource.id;
    expect((await t.http().get(`/fhir/OperationDefinition/${id}`)).body.meta.versionId).toBe('1');
  });

  it('the CapabilityStatement claims no FHIR core SearchParameter or base StructureDefinition it does not serve', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    const urls = canonicalsNamed(cs).map((n) => n.url);
    expect(urls.filter((u) => u.startsWith('http://hl7.org/fhir/SearchParameter/'))).toEqual([]);
    expect(urls.filter((u) => u.startsWith('http://hl7.org/fhir/StructureDefinition/'))).toEqual([]);
    const patient = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.searchParam).toContainEqual({ name: 'birthdate', type: 'date' });
    const task = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Task');
    expect(task.searchParam).toContainEqual(
      expect.objectContaining({ definition: 'http://forlop.no/fhir/SearchParameter/task-due' }),
    );
  });

  it('a search by a malformed url parameter is answered, never a 500', async () => {
    const res = await t.http().get('/fhir/OperationDefinition?url:nonsense=x').set('Prefer', 'handling=strict');
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});
