import type {
  Extension,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetComposeIncludeConceptDesignation,
} from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { builtinTerminology } from './builtin.js';
import type { CodeSystemIndex, Concept } from './codesystem.js';
import { compileFilter, type ConceptTest } from './filters.js';
import { addWarnings, statusWarnings, type StatusWarning } from './status-warnings.js';
import { definitionNotFound, txError, txIssue } from './issues.js';
import type { TerminologyContext } from './source.js';
import { isWildcard, splitCanonical, versionMatches } from './versions.js';

/** One code in an expansion, with what the output and $validate-code need to know about it. */
export interface ExpansionEntry {
  system: string;
  version?: string;
  code: string;
  display?: string;
  inactive: boolean;
  abstract: boolean;
  cs?: CodeSystemIndex;
  concept?: Concept;
  /** Designations given for the code in the ValueSet itself. */
  designations?: ValueSetComposeIncludeConceptDesignation[];
  /** Extensions on the code in the ValueSet itself (order, label, deprecated…). */
  extensions?: Extension[];
}

/** Settings that change which codes a value set contains (not how they are shown or paged). */
export interface ExpandSettings {
  activeOnly: boolean;
  /** `system-version`: the version of a system to use when the value set does not say. */
  systemVersions: Map<string, string>;
  /** `force-system-version`: the version to use whatever the value set says. */
  forceSystemVersions: Map<string, string>;
  /** `check-system-version`: a version the value set's must match (wildcards allowed). */
  checkSystemVersions: Map<string, string>;
  /** `default-valueset-version`: the version of a value set an import names without one. */
  valueSetVersions?: Map<string, string>;
  /**
   * $validate-code: the version the coding itself names, per system. A wildcard include (`1.x`) whose
   * pattern it matches uses it, as the code's own version is one the value set allows.
   */
  codingVersions?: Map<string, string>;
  /**
   * `versionsMatch` (tx ecosystem expansion parameter, default true): a code is the same code in every
   * version of its system, so an exclude of a version the value set does not include still removes it.
   */
  versionsMatch?: boolean;
  /**
   * For $validate-code: an include whose code system cannot be found is recorded in `missing`
   * and skipped, so the answer can say so for the coding, instead of failing the whole request.
   */
  tolerateMissing?: boolean;
}

/** How a value set uses one code system. */
export interface SystemUse {
  version?: string;
  /** An include (or `force-system-version`) named the version. */
  pinned: boolean;
  /** The version the include (or a version parameter) asked for, perhaps a wildcard (`1.x`). */
  pattern?: string;
  /** The `check-system-version` the version failed (with `tolerateMissing`). */
  failedCheck?: string;
  /** The version the include itself names, if any. */
  includeVersion?: string;
  /** The version parameter (`force-`, `system-` or `check-system-version`) that decided the version instead. */
  changedBy?: string;
}

export interface Expanded {
  entries: ExpansionEntry[];
  /** `url|version` of every code system and value set the expansion used, for expansion.parameter. */
  usedCodeSystems: Set<string>;
  usedValueSets: Set<string>;
  /** True when every include was a whole or filtered code system, so the hierarchy can be shown. */
  wholeSystems: boolean;
  /** Per code system, the version the value set used and whether an include pinned it. */
  systems: Map<string, SystemUse>;
  /** Code systems (and versions) includes named that could not be found (with `tolerateMissing`). */
  missing: { system: string; version?: string }[];
  /** Value sets includes import that could not be found (with `tolerateMissing`). */
  missingValueSets: string[];
  /** Deprecated, withdrawn, draft or experimental definitions the expansion used (status-warnings.ts). */
  statusWarnings: StatusWarning[];
  /** An exclude removed codes of another version than its own (`versionsMatch`). */
  versionsMatched?: boolean;
  /** `url|version` of code systems used whose content is only a fragment (R4 CodeSystem.content). */
  fragments: Set<string>;
}

/** Codes are told apart by system, version and code: a value set may include two versions of one system. */
const key = (e: { system: string; version?: string; code: string }) =>
  `${e.system}\u0000${e.version ?? ''}\u0000${e.code}`;

/**
 * Computes the codes of a value set (R4 §4.9.9 "Value Set Expansion"): includes are unioned, and
 * within one include the system part (concept list, or filters that all apply, or the whole
 * system) is intersected with every imported value set; excludes are then removed.
 */
export async function expandValueSet(
  ctx: TerminologyContext,
  vs: ValueSet,
  settings: ExpandSettings,
  stack: string[] = [],
): Promise<Expanded> {
  const identity = `${vs.url ?? '#'}|${vs.version ?? ''}`;
  const cacheKey = expansionCacheKey(ctx, vs, identity, settings);
  if (cacheKey) {
    const hit = ctx.store.expansions.get(cacheKey) as Expanded | undefined;
    if (hit) return hit;
  }
  if (stack.includes(identity)) {
    throw txError(
      'unprocessable',
      txIssue(
        'error',
        'processing',
        'vs-invalid',
        `The value set ${vs.url} includes itself (${[...stack, identity].join(' → ')})`,
      ),
    );
  }
  if (!vs.compose) return fromExpansion(vs);
  const out = await composeExpansion(ctx, vs, vs.compose, settings, [...stack, identity]);
  if (cacheKey) ctx.store.expansions.set(cacheKey, out);
  return out;
}

/** The key an expansion is cached under; undefined when it is not cached (no url or stamp, or no caching). */
function expansionCacheKey(
  ctx: TerminologyContext,
  vs: ValueSet,
  identity: string,
  settings: ExpandSettings,
): string | undefined {
  // stored value sets by their version id, FHIR's built-in ones (which never change) by identity
  const stamp = vs.meta?.versionId ?? (vs.url && builtinTerminology(vs.url).includes(vs) ? 'builtin' : undefined);
  return vs.url && stamp && ctx.cacheable
    ? `${ctx.generation}|${identity}|${stamp}|${settingsKey(settings)}`
    : undefined;
}

function emptyExpansion(): Expanded {
  return {
    entries: [],
    usedCodeSystems: new Set(),
    usedValueSets: new Set(),
    wholeSystems: true,
    systems: new Map(),
    missing: [],
    missingValueSets: [],
    statusWarnings: [],
    fragments: new Set(),
  };
}

/** A value set without a compose: the codes of the expansion it carries. */
function fromExpansion(vs: ValueSet): Expanded {
  const out = emptyExpansion();
  if (!vs.expansion)
    throw txError(
      'unprocessable',
      txIssue(
        'error',
        'invalid',
        'vs-invalid',
        `The value set ${vs.url ?? ''} has neither a compose nor an expansion`,
        'ValueSet',
      ),
    );
  for (const c of flatten(vs.expansion.contains ?? [])) {
    if (c.code && c.system)
      out.entries.push({
        system: c.system,
        version: c.version,
        code: c.code,
        display: c.display,
        inactive: c.inactive === true,
        abstract: c.abstract === true,
      });
  }
  out.wholeSystems = false;
  return out;
}

/** The union of the includes, less the excludes (and, when asked, the inactive codes). */
async function composeExpansion(
  ctx: TerminologyContext,
  vs: ValueSet,
  compose: NonNullable<ValueSet['compose']>,
  settings: ExpandSettings,
  nested: string[],
): Promise<Expanded> {
  const out = emptyExpansion();
  addWarnings(out.statusWarnings, statusWarnings(vs));
  const activeOnly = settings.activeOnly || compose.inactive === false;
  const included = new Map<string, ExpansionEntry>();
  for (const [i, inc] of (compose.include ?? []).entries()) {
    for (const e of await includeEntries(ctx, vs, inc, settings, out, nested, `ValueSet.compose.include[${i}]`)) {
      if (!included.has(key(e))) included.set(key(e), e);
    }
    // a filtered system keeps its hierarchy among the codes it selects; a list or an import has none
    if (inc.concept || inc.valueSet || !inc.system) out.wholeSystems = false;
  }
  for (const [i, exc] of (compose.exclude ?? []).entries()) {
    const excluded = await includeEntries(ctx, vs, exc, settings, out, nested, `ValueSet.compose.exclude[${i}]`);
    for (const e of excluded)
      if (!included.delete(key(e)) && settings.versionsMatch !== false) excludeAcross(included, e, out);
  }
  out.entries = [...included.values()].filter((e) => !activeOnly || !e.inactive);
  return out;
}

/**
 * An excluded code the value set does not include in the exclude's own version: with `versionsMatch`
 * (the default) the code is the same in every version of its system, so its other versions go.
 */
function excludeAcross(included: Map<string, ExpansionEntry>, e: ExpansionEntry, out: Expanded): void {
  for (const [k, other] of included) {
    if (other.system !== e.system || other.code !== e.code) continue;
    included.delete(k);
    out.versionsMatched = true;
  }
}

/** The codes of one include (or exclude): its system part intersected with each value set it imports. */
async function includeEntries(
  ctx: TerminologyContext,
  owner: ValueSet,
  inc: ValueSetComposeInclude,
  settings: ExpandSettings,
  out: Expanded,
  stack: string[],
  where: string,
): Promise<ExpansionEntry[]> {
  let result: ExpansionEntry[] | undefined;
  if (inc.system) {
    const fromSystem = await systemPart(ctx, inc.system, inc, settings, out, where);
    if (!fromSystem) return [];
    result = fromSystem;
  }
  for (const canonical of inc.valueSet ?? []) {
    const sub = await importedValueSet(ctx, owner, canonical, settings, out);
    if (!sub) {
      result = [];
      continue;
    }
    // a contained value set is part of the one that contains it, not another one used
    if (!owner.contained?.includes(sub)) out.usedValueSets.add(`${sub.url}|${sub.version ?? ''}`.replace(/\|$/, ''));
    const expanded = await expandValueSet(ctx, sub, settings, stack);
    addUsage(out, expanded);
    if (result === undefined) result = expanded.entries;
    else {
      const keep = new Set(expanded.entries.map(key));
      result = result.filter((e) => keep.has(key(e)));
    }
  }
  return result ?? [];
}

/**
 * The codes an include takes from its code system, noting the system's use in `out`; undefined
 * when the system cannot be found and `tolerateMissing` lets that be noted instead of failing.
 */
async function systemPart(
  ctx: TerminologyContext,
  system: string,
  inc: ValueSetComposeInclude,
  settings: ExpandSettings,
  out: Expanded,
  where: string,
): Promise<ExpansionEntry[] | undefined> {
  const pinned = settings.forceSystemVersions.has(system) || inc.version !== undefined;
  const requested = requestedVersion(system, inc.version, settings);
  const changedBy = requested !== inc.version ? requested : undefined;
  const use = { pinned, includeVersion: inc.version, changedBy };
  let cs: CodeSystemIndex;
  try {
    cs = await resolveSystem(ctx, system, inc.version, settings, where);
  } catch (err) {
    if (!settings.tolerateMissing || !(err instanceof FhirError) || err.category !== 'not-found') throw err;
    out.missing.push({ system, version: requested });
    out.systems.set(system, { ...use, version: requested, pattern: requested });
    return undefined;
  }
  out.usedCodeSystems.add(`${cs.url}|${cs.version ?? ''}`.replace(/\|$/, ''));
  addWarnings(out.statusWarnings, statusWarnings(cs.resource));
  if (cs.resource.content === 'fragment') out.fragments.add(`${cs.url}|${cs.version ?? ''}`.replace(/\|$/, ''));
  const pattern = settings.forceSystemVersions.get(system) ?? inc.version;
  const failedCheck = failedVersionCheck(cs, system, settings);
  if (!out.systems.has(system)) out.systems.set(system, { ...use, version: cs.version, pattern, failedCheck });
  return systemEntries(cs, inc, where);
}

/**
 * The `check-system-version` the code system's version does not match, if any: an error, except
 * with `tolerateMissing`, where $validate-code reports it for the coding. Like a definition that
 * cannot be found, it is about the server's content rather than an element of the value set, so the
 * issue names no element (as the HL7 tests' outcomes have it); a malformed filter does name its own.
 */
function failedVersionCheck(cs: CodeSystemIndex, system: string, settings: ExpandSettings): string | undefined {
  const check = settings.checkSystemVersions.get(system);
  const failedCheck = check !== undefined && !versionMatches(check, cs.version) ? check : undefined;
  if (failedCheck && !settings.tolerateMissing) {
    throw txError(
      'unprocessable',
      txIssue(
        'error',
        'exception',
        'version-error',
        `The version '${cs.version ?? ''}' is not allowed for system '${system}': required to be '${check}' by a version-check parameter`,
      ),
    );
  }
  return failedCheck;
}

/** The value set an include imports; undefined when it cannot be found and `tolerateMissing` notes that. */
async function importedValueSet(
  ctx: TerminologyContext,
  owner: ValueSet,
  canonical: string,
  settings: ExpandSettings,
  out: Expanded,
): Promise<ValueSet | undefined> {
  const [url, version] = splitCanonical(canonical);
  // a versionless import takes the default-valueset-version asked for, like system-version for systems
  const wanted = version ?? settings.valueSetVersions?.get(url);
  const named = wanted && !canonical.startsWith('#') ? `${url}|${wanted}` : canonical;
  const sub = await findValueSet(ctx, owner, named);
  if (!sub && settings.tolerateMissing) {
    out.missingValueSets.push(named);
    return undefined;
  }
  if (!sub) {
    throw definitionNotFound(`A definition for the value set '${named}' could not be found`);
  }
  return sub;
}

/** What an imported value set's expansion used (and missed) counts as used (and missed) by the importer. */
function addUsage(out: Expanded, imported: Expanded): void {
  for (const u of imported.usedCodeSystems) out.usedCodeSystems.add(u);
  for (const [k, v] of imported.systems) if (!out.systems.has(k)) out.systems.set(k, v);
  out.missing.push(...imported.missing);
  out.missingValueSets.push(...imported.missingValueSets);
  addWarnings(out.statusWarnings, imported.statusWarnings);
  for (const u of imported.fragments) out.fragments.add(u);
  for (const u of imported.usedValueSets) out.usedValueSets.add(u);
}

/** A value set an include imports: one contained in the importing value set (`#id`), or a canonical. */
async function findValueSet(
  ctx: TerminologyContext,
  owner: ValueSet,
  canonical: string,
): Promise<ValueSet | undefined> {
  const contained = (owner.contained ?? []).filter((r): r is ValueSet => r.resourceType === 'ValueSet');
  if (canonical.startsWith('#')) return contained.find((r) => r.id === canonical.slice(1));
  const [url, version] = splitCanonical(canonical);
  return (
    contained.find((r) => r.url === url && (!version || r.version === version)) ??
    (await ctx.find<ValueSet>('ValueSet', url, version))
  );
}

/** The codes an include takes from its system: listed concepts, filtered concepts, or all. */
function systemEntries(cs: CodeSystemIndex, inc: ValueSetComposeInclude, where: string): ExpansionEntry[] {
  const entry = (
    c: Concept,
    display?: string,
    designations?: ValueSetComposeIncludeConceptDesignation[],
    extensions?: Extension[],
  ): ExpansionEntry => ({
    system: cs.url,
    version: cs.version,
    code: c.code,
    display: display ?? c.display,
    inactive: c.inactive,
    abstract: c.notSelectable,
    cs,
    concept: c,
    designations,
    extensions,
  });
  if (inc.concept?.length) {
    const list: ExpansionEntry[] = [];
    for (const ref of inc.concept) {
      const c = ref.code !== undefined ? cs.get(ref.code) : undefined;
      // a listed code the system does not have is not part of the value set (it is reported by $validate-code)
      if (c) list.push(entry(c, ref.display, ref.designation, ref.extension));
    }
    return list;
  }
  const tests: ConceptTest[] = (inc.filter ?? []).map((f, j) => {
    const at = `${where}.filter[${j}]`;
    if (f.value === undefined || f.value === '') {
      throw txError(
        'invalid',
        txIssue(
          'error',
          'invalid',
          'vs-invalid',
          `The system ${cs.url} filter with property = ${f.property}, op = ${f.op} has no value`,
          at,
        ),
      );
    }
    return compileFilter(cs, f, at);
  });
  return [...cs.concepts.values()].filter((c) => tests.every((t) => t(c))).map((c) => entry(c));
}

/**
 * The version of a system an include asks for: `force-system-version`, else the include's own, else
 * `system-version`, else `check-system-version` (R4 $expand: a versionless include leaves the choice
 * to the server, so it takes the latest version the check allows rather than one it would refuse).
 */
export function requestedVersion(
  system: string,
  version: string | undefined,
  settings: Pick<ExpandSettings, 'systemVersions' | 'forceSystemVersions' | 'checkSystemVersions'>,
): string | undefined {
  return (
    settings.forceSystemVersions.get(system) ??
    version ??
    settings.systemVersions.get(system) ??
    settings.checkSystemVersions.get(system)
  );
}

/**
 * A wildcard version (`1.x`) with the version the validated coding names: that version, when the
 * wildcard allows it. Otherwise the wildcard takes the latest version it matches, and a
 * `check-system-version` is then checked against that one (R5 $expand: "if a value set specifies a
 * different version, an error is returned").
 */
async function narrowedByCoding(
  ctx: TerminologyContext,
  system: string,
  wanted: string | undefined,
  settings: Pick<ExpandSettings, 'codingVersions'>,
): Promise<CodeSystemIndex | undefined> {
  const own = settings.codingVersions?.get(system);
  if (!own || !wanted || !isWildcard(wanted) || !versionMatches(wanted, own)) return undefined;
  return ctx.codeSystem(system, own);
}

export async function resolveSystem(
  ctx: TerminologyContext,
  system: string,
  version: string | undefined,
  settings: Pick<ExpandSettings, 'systemVersions' | 'forceSystemVersions' | 'checkSystemVersions' | 'codingVersions'>,
  where: string,
): Promise<CodeSystemIndex> {
  const wanted = requestedVersion(system, version, settings);
  const cs = (await narrowedByCoding(ctx, system, wanted, settings)) ?? (await ctx.codeSystem(system, wanted));
  if (!cs) {
    const known = (await ctx.all('CodeSystem', system)).map((r) => r.version ?? '').filter(Boolean);
    const text =
      known.length && wanted
        ? `A definition for CodeSystem '${system}' version '${wanted}' could not be found, so the value set cannot be expanded. Valid versions: ${known.join(' or ')}`
        : `A definition for CodeSystem '${system}' could not be found, so the value set cannot be expanded`;
    throw definitionNotFound(text);
  }
  if (cs.resource.content === 'supplement') {
    throw txError(
      'unprocessable',
      txIssue(
        'error',
        'invalid',
        'vs-invalid',
        `The code system ${system} is a supplement and cannot be used as a source of codes`,
        `${where}.system`,
      ),
    );
  }
  return cs;
}

function settingsKey(s: ExpandSettings): string {
  const m = (map: Map<string, string>) => [...map].sort().join(',');
  const valueSets = m(s.valueSetVersions ?? new Map());
  const coded = m(s.codingVersions ?? new Map());
  return `${s.activeOnly}|${s.tolerateMissing === true}|${m(s.systemVersions)}|${m(s.forceSystemVersions)}|${m(s.checkSystemVersions)}|${valueSets}|${coded}|${s.versionsMatch !== false}`;
}

function flatten<T extends { contains?: T[] }>(list: T[]): T[] {
  return list.flatMap((c) => [c, ...flatten(c.contains ?? [])]);
}

const byCode = new WeakMap<Expanded, Map<string, ExpansionEntry[]>>();

/** The entries with a code, from an index built once per (cached) expansion: membership tests are O(1). */
export function entriesWithCode(expanded: Expanded, code: string): ExpansionEntry[] {
  let index = byCode.get(expanded);
  if (!index) {
    index = new Map();
    for (const e of expanded.entries) {
      const list = index.get(e.code);
      if (list) list.push(e);
      else index.set(e.code, [e]);
    }
    byCode.set(expanded, index);
  }
  return index.get(code) ?? [];
}
