import type { PlanDefinition } from '@medplum/fhirtypes';

/** A generation-keyed source of PlanDefinitions: what the cache needs of the store. */
export interface PlanSource {
  /** The number of PlanDefinition versions ever written: moves with every write, on any node. */
  generation(): Promise<number>;
  /** The stored PlanDefinitions with this canonical url, as JSON. */
  byUrl(url: string): Promise<string[]>;
}

/** Freezes the whole tree: a cached definition is shared by every request, so none may change it. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The pathways' definitions, parsed once per generation. A milestone's completion needs its
 * PlanDefinition twice (the write check and the reaction) and a registry report or an indicator
 * once per pathway type; each used to search and parse it again. Keyed by the PlanDefinition
 * generation, so a new or changed definition written on any node is seen at its next use.
 */
export class PlanCache {
  private gen = -1;
  /** By `generation|url`: a lookup that read an older generation never answers a newer one. */
  private readonly byUrl = new Map<string, readonly PlanDefinition[]>();

  constructor(private readonly source: PlanSource) {}

  /** The PlanDefinition a canonical (`url|version`) names, among those stored (frozen: do not change it). */
  async plan(canonical: string | undefined): Promise<PlanDefinition | undefined> {
    if (!canonical) return undefined;
    const [url, version] = canonical.split('|');
    const gen = await this.source.generation();
    if (gen !== this.gen) {
      this.byUrl.clear();
      this.gen = gen;
    }
    const key = `${gen}|${url}`;
    let all = this.byUrl.get(key);
    if (!all) {
      all = deepFreeze((await this.source.byUrl(url)).map((r) => JSON.parse(r) as PlanDefinition));
      // a url is a handful of versions at most; the number of urls is the number of pathway types
      this.byUrl.set(key, all);
    }
    return all.find((p) => version === undefined || p.version === version);
  }
}
