import type { CodeSystem, ConceptMap, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { builtinTerminology } from './builtin.js';
import { CodeSystemIndex } from './codesystem.js';
import { definitionNotFound } from './issues.js';
import { applySupplements, canonicalOf, supplementsSystem } from './supplements.js';
import { latest, splitCanonical, versionMatches } from './versions.js';

export type TerminologyType = 'CodeSystem' | 'ValueSet' | 'ConceptMap';
export type TerminologyResource = CodeSystem | ValueSet | ConceptMap;
export const TERMINOLOGY_TYPES: readonly TerminologyType[] = ['CodeSystem', 'ValueSet', 'ConceptMap'];

const OID_IDENTIFIER = 'urn:ietf:rfc:3986';

/** A small least-recently-used map: terminology content is read far more than it changes. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

/**
 * Where the terminology operations find CodeSystems, ValueSets and ConceptMaps: the resource store,
 * overlaid by resources sent with the request (`tx-resource`, as the HL7 terminology tests do).
 *
 * Caching is keyed by the store's terminology *generation* (how many versions of these types the
 * history holds), read once per operation; a write on any server process changes it, so caches on
 * every stateless API node invalidate themselves without messages between nodes.
 */
/** The types whose every version moves the terminology generation. */
export const GENERATION_TYPES: readonly string[] = ['CodeSystem', 'ValueSet', 'ConceptMap', 'StructureDefinition'];

export class TerminologyStore {
  private readonly byUrl = new Lru<TerminologyResource[]>(2000);
  private readonly indexes = new Lru<CodeSystemIndex>(200);
  /** Expansions, keyed by the caller (see expand.ts). */
  readonly expansions = new Lru<unknown>(200);

  constructor(
    /** Counts the versions written of these types (the store's `versionCount`): the generation. */
    private readonly versions: (types: readonly string[]) => Promise<number>,
    /** Runs a FHIR search (all matches) and returns the resources' JSON. */
    private readonly search: (type: string, query: [string, string][]) => Promise<string[]>,
  ) {}

  /**
   * The terminology generation: every cache here is keyed by it, so a write on any node is seen by every
   * node at its next operation. StructureDefinitions count too: the validator reads stored profiles
   * through the same caches.
   */
  generation(): Promise<number> {
    return this.versions(GENERATION_TYPES);
  }

  /** Every stored resource of a type with this canonical url (or, for OIDs, this identifier). */
  async candidates(gen: number, type: TerminologyType, url: string): Promise<TerminologyResource[]> {
    const key = `${gen}|${type}|${url}`;
    const hit = this.byUrl.get(key);
    if (hit) return hit;
    // through the search index: `url` (uri, exact), and for an OID the `identifier` it is listed under
    let rows = await this.search(type, [['url', url]]);
    if (!rows.length && url.startsWith('urn:oid:'))
      rows = await this.search(type, [['identifier', `${OID_IDENTIFIER}|${url}`]]);
    let found = rows.map((r) => JSON.parse(r) as TerminologyResource);
    // FHIR's own code systems and value sets, when the store has no copy
    if (!found.length) found = builtinTerminology(url).filter((r) => r.resourceType === type);
    this.byUrl.set(key, found);
    return found;
  }

  /** The stored StructureDefinitions with a canonical url (profiles uploaded by users), cached by generation. */
  async structureDefinitions(gen: number, url: string): Promise<StructureDefinition[]> {
    const key = `${gen}|StructureDefinition|${url}`;
    const hit = this.byUrl.get(key) as StructureDefinition[] | undefined;
    if (hit) return hit;
    const found = (await this.search('StructureDefinition', [['url', url]])).map(
      (r) => JSON.parse(r) as StructureDefinition,
    );
    this.byUrl.set(key, found as never);
    return found;
  }

  /** Every match of a search (any canonical resource type: also used to load shipped PlanDefinitions). */
  searchAll(type: string, query: [string, string][]): Promise<string[]> {
    return this.search(type, query);
  }

  /** A cached index of a stored CodeSystem version. */
  index(cs: CodeSystem): CodeSystemIndex {
    // stored versions by id|versionId; FHIR's built-in ones (no versionId) by url|version
    const key =
      cs.meta?.versionId && cs.id
        ? `${cs.id}|${cs.meta.versionId}`
        : builtinTerminology(cs.url ?? '').includes(cs)
          ? `builtin|${cs.url}|${cs.version}`
          : undefined;
    if (!key) return new CodeSystemIndex(cs);
    let idx = this.indexes.get(key);
    if (!idx) {
      idx = new CodeSystemIndex(cs);
      this.indexes.set(key, idx);
    }
    return idx;
  }
}

function hasOid(r: TerminologyResource, oid: string): boolean {
  const ids = Array.isArray(r.identifier) ? r.identifier : r.identifier ? [r.identifier] : [];
  return ids.some((i) => i.value === oid && (i.system === undefined || i.system === OID_IDENTIFIER));
}

/**
 * The view of terminology one operation works with: the store at one generation plus the request's
 * own resources, which win over stored ones with the same url and version.
 */
export class TerminologyContext {
  private readonly overlay: TerminologyResource[];
  /** The supplements the request asks for (supplements.ts), and those an answer used. */
  private readonly supplements: CodeSystem[] = [];
  readonly usedSupplements = new Set<string>();
  private readonly supplemented = new Map<string, CodeSystemIndex>();

  constructor(
    readonly store: TerminologyStore,
    /** The generation read at the start; undefined when request resources make results uncacheable. */
    readonly generation: number,
    overlay: TerminologyResource[] = [],
  ) {
    this.overlay = overlay;
  }

  get cacheable(): boolean {
    return this.overlay.length === 0 && this.supplements.length === 0;
  }

  /**
   * Applies these supplements (canonicals, perhaps with `|version`) to the code systems they supplement
   * for the rest of the operation. One that cannot be found is an error: the value set or the request
   * depends on what it says (R4 §4.8.3; tx `VALUESET_SUPPLEMENT_MISSING`).
   */
  async useSupplements(canonicals: string[]): Promise<void> {
    for (const canonical of canonicals) {
      const [url, version] = splitCanonical(canonical);
      const found = await this.find<CodeSystem>('CodeSystem', url, version);
      if (!found || found.content !== 'supplement')
        throw definitionNotFound(`Required supplement not found: ${canonical}`);
      if (!this.supplements.includes(found)) this.supplements.push(found);
    }
  }

  /** All versions known for a canonical url. */
  async all<T extends TerminologyResource>(type: TerminologyType, url: string): Promise<T[]> {
    const local = this.overlay.filter((r) => r.resourceType === type && (r.url === url || hasOid(r, url))) as T[];
    const stored = (await this.store.candidates(this.generation, type, url)) as T[];
    return [...local, ...stored.filter((s) => !local.some((l) => l.version === s.version))];
  }

  /**
   * The resource with this url and version (wildcards allowed), or the latest version. The request's
   * own resources come first: one that fits is used before any stored version, as tx.fhir.org does
   * (its findCodeSystem looks in the tx-resources before its own), so the definition a client sends
   * is the one its answer is about, even when a stored version of another scheme sorts higher.
   */
  async find<T extends TerminologyResource>(
    type: TerminologyType,
    url: string,
    version?: string,
  ): Promise<T | undefined> {
    const all = await this.all<T>(type, url);
    const fits = version === undefined ? all : all.filter((r) => versionMatches(version, r.version));
    const sent = fits.filter((r) => this.overlay.includes(r));
    return latest(sent.length ? sent : fits);
  }

  async codeSystem(url: string, version?: string): Promise<CodeSystemIndex | undefined> {
    const cs = await this.find<CodeSystem>('CodeSystem', url, version);
    if (!cs) return undefined;
    const supplements = this.supplements.filter((s) => supplementsSystem(s, cs));
    if (!supplements.length) return this.store.index(cs);
    for (const s of supplements) this.usedSupplements.add(canonicalOf(s));
    const key = `${canonicalOf(cs)}|${cs.meta?.versionId ?? ''}`;
    let index = this.supplemented.get(key);
    if (!index) {
      index = applySupplements(cs, supplements);
      this.supplemented.set(key, index);
    }
    return index;
  }

  /** Resources found by a search, plus the request's own of that type (e.g. $translate without a map url). */
  async searchWithOverlay<T extends TerminologyResource>(
    type: TerminologyType,
    query: [string, string][],
  ): Promise<T[]> {
    const rows = await this.store.searchAll(type, query);
    return [...(this.overlay.filter((r) => r.resourceType === type) as T[]), ...rows.map((r) => JSON.parse(r) as T)];
  }
}
