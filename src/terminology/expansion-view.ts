import { randomUUID } from 'node:crypto';
import type {
  Extension,
  ValueSet,
  ValueSetComposeIncludeConceptDesignation,
  ValueSetExpansionContains,
  ValueSetExpansionParameter,
} from '@medplum/fhirtypes';
import { normalizeString } from '../fhir/search/normalize.js';
import type { ExpansionEntry, Expanded } from './expand.js';
import { txError } from './issues.js';
import { entryProperties, propertyDeclarations, type ContainsProperty } from './expansion-properties.js';
import { displayIn, PREFERRED_FOR_LANGUAGE } from './language.js';
import { splitCanonical } from './versions.js';

/** How an expansion is presented: text filter, paging, languages, designations, nesting. */
export interface ViewOptions {
  filter?: string;
  count?: number;
  offset?: number;
  includeDesignations: boolean;
  /** Repeat the value set's definition (compose, contained) beside the expansion. */
  includeDefinition: boolean;
  excludeNested?: boolean;
  languages: string[];
  /** The language list refuses other languages (`*; q=0`): no display rather than one in another. */
  othersRefused?: boolean;
  /** `designation` parameters (`system|code` of a language or use): which designations to show. */
  designations: string[];
  /** The concept properties asked for (`property`), shown per code (R5 contains.property). */
  properties: string[];
  /** Parameters to echo in expansion.parameter, as the client gave them. */
  echo: ValueSetExpansionParameter[];
  now: Date;
  /** The most codes one answer may hold; more is refused as too costly (page with count/offset). */
  maxSize: number;
}

/**
 * The text filter (`filter`, R4 §4.9.9.1 leaves its meaning to the server): every word of the filter
 * must begin a word of the display or the code, ignoring case and accents. Answered from a sorted
 * word index built once per cached expansion, so a filter over 100,000 codes is a few binary searches.
 */
interface WordIndex {
  words: string[];
  entries: number[];
}
const wordIndexes = new WeakMap<Expanded, WordIndex>();

function wordIndex(expanded: Expanded): WordIndex {
  let index = wordIndexes.get(expanded);
  if (index) return index;
  const pairs: [string, number][] = [];
  expanded.entries.forEach((e, i) => {
    const words = new Set([...normalizeString(e.display ?? '').split(/[^\p{L}\p{N}]+/u), e.code.toLowerCase()]);
    for (const w of words) if (w) pairs.push([w, i]);
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  index = { words: pairs.map((p) => p[0]), entries: pairs.map((p) => p[1]) };
  wordIndexes.set(expanded, index);
  return index;
}

/** Positions (in expansion order) of the entries matching every filter word. */
export function filterEntries(expanded: Expanded, filter: string): ExpansionEntry[] {
  const words = normalizeString(filter).split(/\s+/).filter(Boolean);
  if (!words.length) return expanded.entries;
  const index = wordIndex(expanded);
  let result: Set<number> | undefined;
  for (const w of words) {
    // the first word >= w; every word with the prefix w follows it
    let lo = 0;
    let hi = index.words.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (index.words[mid] < w) lo = mid + 1;
      else hi = mid;
    }
    const hits = new Set<number>();
    for (let i = lo; i < index.words.length && index.words[i].startsWith(w); i++)
      if (!result || result.has(index.entries[i])) hits.add(index.entries[i]);
    result = hits;
    if (!result.size) break;
  }
  return [...(result ?? [])].sort((a, b) => a - b).map((i) => expanded.entries[i]);
}

/** The $expand answer: the value set's metadata with an `expansion` (R4 ValueSet.expansion). */
export function expansionResource(vs: ValueSet, expanded: Expanded, o: ViewOptions): ValueSet {
  let entries = o.filter ? filterEntries(expanded, o.filter) : expanded.entries;
  const total = entries.length;
  const paged = o.count !== undefined || (o.offset ?? 0) > 0;
  if (paged) entries = entries.slice(o.offset ?? 0, o.count === undefined ? undefined : (o.offset ?? 0) + o.count);
  if (entries.length > o.maxSize) {
    // too-costly is an issue type of its own (R4 issue-type); tx-issue-type has no code for it
    const text = `The value set ${vs.url ?? ''} expands to ${entries.length} codes, more than the ${o.maxSize} one answer may hold; page with count and offset, or narrow it with filter`;
    throw txError('unprocessable', { severity: 'error', code: 'too-costly', details: { text } });
  }
  const nest = o.excludeNested === false && expanded.wholeSystems && !paged && !o.filter;
  // a code's version is shown only where the expansion holds more than one version of its system
  const view: View = { ...o, versioned: multiVersionSystems(expanded, vs), uris: new Map() };
  const contains = nest ? nested(entries, view) : entries.map((e) => item(e, view));
  const parameter: ValueSetExpansionParameter[] = [
    ...o.echo,
    ...[...expanded.usedCodeSystems].map((u) => ({ name: 'used-codesystem', valueUri: u })),
    ...[...expanded.usedValueSets].map((u) => ({ name: 'used-valueset', valueUri: u })),
    ...[...expanded.fragments].map((u) => ({ name: 'used-fragment', valueUri: u })),
    ...expanded.statusWarnings.map((w) => ({ name: `warning-${w.kind}`, valueUri: w.canonical })),
  ];
  // the definition (compose, contained) is repeated only when asked: R4 $expand `includeDefinition`
  // "controls whether the value set definition is included or excluded in value set expansions"
  // the descriptive text belongs to the definition too, and is repeated with it
  const { expansion: _old, text: _text, meta: _meta, compose, contained, description, purpose, ...rest } = vs;
  return {
    ...rest,
    ...(o.includeDefinition ? { description, purpose, compose, contained } : {}),
    expansion: {
      ...(expanded.fragments.size ? { extension: unclosed(expanded.fragments) } : {}),
      identifier: `urn:uuid:${randomUUID()}`,
      timestamp: o.now.toISOString(),
      total,
      ...(paged ? { offset: o.offset ?? 0 } : {}),
      ...(parameter.length ? { parameter } : {}),
      ...(view.uris.size ? { property: propertyDeclarations(view.uris) } : {}),
      ...(contains.length ? { contains } : {}),
    },
  } as ValueSet;
}

/**
 * A code system whose content is a `fragment` (R4 §4.8.x CodeSystem.content) may have codes the server
 * does not know, so the expansion is marked unclosed (extension `valueset-unclosed`) with the reason,
 * and the fragment is named in expansion.parameter `used-fragment` beside `used-codesystem`.
 */
function unclosed(fragments: Set<string>): Extension[] {
  return [
    { url: `${SD}valueset-unclosed`, valueBoolean: true },
    ...[...fragments].map((canonical) => ({
      url: `${SD}valueset-unclosed-reason`,
      valueString: `This extension is based on a fragment of the code system ${splitCanonical(canonical)[0]}`,
    })),
  ];
}

/** The options with what the answer collects: systems shown with versions, the properties' uris. */
type View = ViewOptions & { versioned: Set<string>; uris: Map<string, string | undefined> };

function item(e: ExpansionEntry, o: View): ValueSetExpansionContains {
  const display =
    e.concept && e.cs && o.languages.length
      ? e.designations?.length
        ? e.display
        : displayIn(e.cs, e.concept, o.languages, !o.othersRefused)
      : e.display;
  const out: ValueSetExpansionContains = { system: e.system };
  if (o.versioned.has(e.system) && e.version) out.version = e.version;
  if (e.abstract) out.abstract = true;
  if (e.inactive) out.inactive = true;
  out.code = e.code;
  if (display !== undefined) out.display = display;
  if (o.includeDesignations) {
    const wanted = designations(e, display).filter((d) => designationWanted(d, o.designations));
    const designation = wanted.map(({ extension, language, use, value }) => ({
      ...(extension?.length ? { extension } : {}),
      ...(language ? { language } : {}),
      ...(use ? { use } : {}),
      value,
    }));
    if (designation.length) out.designation = designation;
  }
  const extension = carriedExtensions(e);
  if (extension.length) out.extension = extension;
  const property = entryProperties(e, o.properties, o.uris);
  // R5 contains.property, pre-adopted: the R4 type does not know it
  if (property.length) (out as { property?: ContainsProperty[] }).property = property;
  return out;
}

const SD = 'http://hl7.org/fhir/StructureDefinition/';
/** Extensions on a code system's concept that say how to show it, kept in the expansion. */
const FROM_CODE_SYSTEM = new Set([`${SD}rendering-style`, `${SD}rendering-xhtml`]);
/** Extensions on a value set's code that the expansion carries (the rest become properties). */
const FROM_VALUE_SET = new Set([
  `${SD}valueset-deprecated`,
  `${SD}valueset-concept-definition`,
  // a code the value set marks deprecated (or withdrawn) in its compose keeps that mark in the expansion
  `${SD}structuredefinition-standards-status`,
]);

/** The extensions an expansion's code carries over from its concept and from the value set's entry. */
function carriedExtensions(e: ExpansionEntry): Extension[] {
  return [
    ...(e.concept?.extensions ?? []).filter((x) => FROM_CODE_SYSTEM.has(x.url)),
    ...(e.extensions ?? []).filter((x) => FROM_VALUE_SET.has(x.url)),
  ];
}

/**
 * The designations shown for a code: the value set's, then the code system's. When the display shown
 * is a translation, the designation it came from is not repeated and the code system's own display is
 * given instead, as the preferred text in the code system's language.
 */
function designations(e: ExpansionEntry, shown: string | undefined): ValueSetComposeIncludeConceptDesignation[] {
  const own = e.concept?.display;
  // shown in another language, or not at all (no text in a language asked for)
  const translated = own !== undefined && shown !== own && (shown === undefined || shown !== e.display);
  const fromSystem = (e.concept?.designations ?? []).filter((d) => !translated || d.value !== shown);
  const original = translated ? [{ language: e.cs?.resource.language, use: PREFERRED_FOR_LANGUAGE, value: own }] : [];
  return [...(e.designations ?? []), ...original, ...fromSystem];
}

const BCP47 = 'urn:ietf:bcp:47';

/**
 * The R5 `designation` parameter (`system|code`): only designations in a language (system
 * urn:ietf:bcp:47) or with a use it names are shown; without it, all are.
 */
function designationWanted(d: ValueSetComposeIncludeConceptDesignation, wanted: string[]): boolean {
  if (!wanted.length) return true;
  return wanted.some((w) => {
    const [system, code] = splitCanonical(w);
    // the language asked for exactly: `de` names German, not Swiss German (de-CH) too
    if (system === BCP47) return code !== undefined && d.language?.toLowerCase() === code.toLowerCase();
    return d.use?.code === code && (!system || d.use?.system === system);
  });
}

/** Entries nested under their parent where the parent is in the expansion too (hierarchical display). */
function nested(entries: ExpansionEntry[], o: View): ValueSetExpansionContains[] {
  // keyed by version too: an expansion may hold the same code from two versions of its system
  const key = (e: ExpansionEntry, code: string) => `${e.system}\u0000${e.version ?? ''}\u0000${code}`;
  const nodes = new Map(entries.map((e) => [key(e, e.code), item(e, o)]));
  const roots: ValueSetExpansionContains[] = [];
  for (const e of entries) {
    const node = nodes.get(key(e, e.code)) as ValueSetExpansionContains;
    const parent = e.concept?.parents.map((p) => nodes.get(key(e, p))).find((p) => p !== undefined);
    if (parent) (parent.contains ??= []).push(node);
    else roots.push(node);
  }
  return roots;
}

const multiVersion = new WeakMap<Expanded, Set<string>>();

/**
 * Systems more than one version of is in play (computed once per cached expansion): the expansion
 * holds or used several, or the value set's own includes and excludes name several. Their codes show
 * their version (R4 ValueSet.expansion.contains.version: "when the meaning is not guaranteed to be
 * consistent, the version SHOULD be exchanged").
 */
function multiVersionSystems(expanded: Expanded, vs: ValueSet): Set<string> {
  let out = multiVersion.get(expanded);
  if (!out) {
    const versions = new Map<string, Set<string | undefined>>();
    const add = (system: string | undefined, version: string | undefined) => {
      if (system) versions.set(system, (versions.get(system) ?? new Set()).add(version));
    };
    for (const e of expanded.entries) add(e.system, e.version);
    for (const u of expanded.usedCodeSystems) add(...splitCanonical(u));
    const named = new Map<string, Set<string | undefined>>();
    for (const inc of [...(vs.compose?.include ?? []), ...(vs.compose?.exclude ?? [])])
      if (inc.system && inc.version) named.set(inc.system, (named.get(inc.system) ?? new Set()).add(inc.version));
    out = new Set([...versions, ...named].filter(([, v]) => v.size > 1).map(([k]) => k));
    multiVersion.set(expanded, out);
  }
  return out;
}
