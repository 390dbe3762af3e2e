import type {
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptDesignation,
  CodeSystemConceptProperty,
  Extension,
} from '@medplum/fhirtypes';

/** One concept of a code system, with its place in the hierarchy worked out. */
export interface Concept {
  code: string;
  display?: string;
  definition?: string;
  designations: CodeSystemConceptDesignation[];
  properties: CodeSystemConceptProperty[];
  parents: string[];
  children: string[];
  /** Retired or marked inactive: still a valid code, but not for new use (R4 §4.8.4.2 `inactive`). */
  inactive: boolean;
  /** `notSelectable` (R4 concept-properties): a grouping concept, not to be used in data. */
  notSelectable: boolean;
  /**
   * The concept's status: its status property (`deprecated`, `retired`), else the standards-status
   * extension (R5 CodeSystem: a concept may be marked `deprecated` or `withdrawn` with it).
   */
  status?: string;
  /** The concept's extensions (order, label, weight…; see expansion-properties.ts). */
  extensions: Extension[];
  /** Position in the code system, for expansions in definition order. */
  order: number;
}

const PROPERTY_URI = 'http://hl7.org/fhir/concept-properties#';
export const STANDARDS_STATUS = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status';

/**
 * A CodeSystem resource indexed for the terminology operations: codes by value (case-folded when
 * the system is not case sensitive), parents and children from nesting and from the `parent`,
 * `child` and `subsumedBy` properties (R4 §4.8.4.1), and the status properties resolved to flags.
 * Built once per stored version and cached (see source.ts).
 */
export class CodeSystemIndex {
  readonly url: string;
  readonly version?: string;
  readonly caseSensitive: boolean;
  readonly concepts = new Map<string, Concept>();
  private readonly folded = new Map<string, Concept>();
  private readonly descendantsMemo = new Map<string, Set<string>>();
  /** The supplement (`url|version`) each designation a supplement added came from (supplements.ts). */
  readonly designationSources = new Map<CodeSystemConceptDesignation, string>();
  /** Property code → meaning, from the system's property definitions (code or well-known uri). */
  private readonly propertyRole = new Map<string, string>();

  constructor(readonly resource: CodeSystem) {
    this.url = resource.url ?? '';
    this.version = resource.version;
    this.caseSensitive = resource.caseSensitive === true;
    for (const p of resource.property ?? []) {
      const role = p.uri?.startsWith(PROPERTY_URI) ? p.uri.slice(PROPERTY_URI.length) : p.code;
      if (p.code) this.propertyRole.set(p.code, role ?? p.code);
    }
    const walk = (list: CodeSystemConcept[] | undefined, parent?: Concept): void => {
      for (const c of list ?? []) {
        if (!c.code) continue;
        const concept = this.add(c);
        if (parent) link(parent, concept);
        walk(c.concept, concept);
      }
    };
    const link = (parent: Concept, child: Concept) => {
      if (!parent.children.includes(child.code)) parent.children.push(child.code);
      if (!child.parents.includes(parent.code)) child.parents.push(parent.code);
    };
    walk(resource.concept);
    for (const concept of this.concepts.values()) {
      for (const p of concept.properties) {
        const role = this.role(p.code);
        const target = p.valueCode !== undefined ? this.concepts.get(p.valueCode) : undefined;
        if (!target) continue;
        if (role === 'parent' || role === 'subsumedBy') link(target, concept);
        else if (role === 'child') link(concept, target);
      }
    }
  }

  private add(c: CodeSystemConcept): Concept {
    const properties = c.property ?? [];
    let status: string | undefined;
    let inactive = false;
    let notSelectable = false;
    for (const p of properties) {
      const role = this.role(p.code);
      if (role === 'status' && p.valueCode) status = p.valueCode;
      if (role === 'inactive' && p.valueBoolean === true) inactive = true;
      // a property coded notSelectable means that, whatever uri it is defined with
      if ((role === 'notSelectable' || p.code === 'notSelectable') && p.valueBoolean === true) notSelectable = true;
    }
    status ??= c.extension?.find((e) => e.url === STANDARDS_STATUS)?.valueCode;
    if (status === 'retired' || status === 'inactive') inactive = true;
    const concept: Concept = {
      code: c.code as string,
      display: c.display,
      definition: c.definition,
      designations: c.designation ?? [],
      properties,
      parents: [],
      children: [],
      inactive,
      notSelectable,
      status,
      extensions: c.extension ?? [],
      order: this.concepts.size,
    };
    this.concepts.set(concept.code, concept);
    if (!this.caseSensitive) this.folded.set(concept.code.toLowerCase(), concept);
    return concept;
  }

  /** What a property means: its well-known concept-property name when it has one, else its code. */
  role(code: string | undefined): string | undefined {
    return code === undefined ? undefined : (this.propertyRole.get(code) ?? code);
  }

  /** The concept with this code; without regard to case when the system is not case sensitive. */
  get(code: string): Concept | undefined {
    return this.concepts.get(code) ?? (this.caseSensitive ? undefined : this.folded.get(code.toLowerCase()));
  }

  roots(): Concept[] {
    return [...this.concepts.values()].filter((c) => c.parents.length === 0);
  }

  /** Every code below `code` (not itself), memoised: filters ask the same question many times. */
  descendants(code: string): Set<string> {
    const memo = this.descendantsMemo.get(code);
    if (memo) return memo;
    const out = new Set<string>();
    const stack = [...(this.concepts.get(code)?.children ?? [])];
    while (stack.length) {
      const c = stack.pop() as string;
      if (out.has(c)) continue;
      out.add(c);
      stack.push(...(this.concepts.get(c)?.children ?? []));
    }
    this.descendantsMemo.set(code, out);
    return out;
  }

  /** Whether `a` subsumes `b`: the same concept, or `b` is below `a`. */
  subsumes(a: string, b: string): boolean {
    return a === b || this.descendants(a).has(b);
  }

  /** A property's values on a concept, as strings (codes, Codings as code, booleans as text). */
  propertyValues(concept: Concept, property: string): string[] {
    if (property === 'code') return [concept.code];
    if (property === 'display') return concept.display !== undefined ? [concept.display] : [];
    if (property === 'parent') return concept.parents;
    if (property === 'child') return concept.children;
    if (property === 'inactive') return [String(concept.inactive)];
    // a concept that does not state notSelectable has no value for a filter to match (not `false`)
    if (property === 'notSelectable' && !concept.properties.some((p) => p.code === 'notSelectable'))
      return concept.notSelectable ? ['true'] : [];
    return concept.properties.filter((p) => p.code === property || this.role(p.code) === property).map(propertyText);
  }
}

export function propertyText(p: CodeSystemConceptProperty): string {
  if (p.valueCode !== undefined) return p.valueCode;
  if (p.valueCoding) return p.valueCoding.code ?? '';
  if (p.valueString !== undefined) return p.valueString;
  if (p.valueBoolean !== undefined) return String(p.valueBoolean);
  if (p.valueInteger !== undefined) return String(p.valueInteger);
  if (p.valueDecimal !== undefined) return String(p.valueDecimal);
  if (p.valueDateTime !== undefined) return p.valueDateTime;
  return '';
}
