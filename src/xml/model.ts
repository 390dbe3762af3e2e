import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/**
 * The element model both XML directions walk, read from the R4 StructureDefinitions' snapshots (the ones
 * src/fhir/definitions.ts already loaded): for each complex type, resource and backbone element, its
 * children in snapshot order — the order R4 §2.6.2 requires in XML — with their types and cardinality.
 * Nothing here is written per type.
 */

/** How a primitive's value is typed in JSON (R4 §2.6.2 json.html: boolean and numbers unquoted). */
export type JsonKind = 'string' | 'boolean' | 'number';

export type TypeRef =
  | { kind: 'primitive'; code: string; json: JsonKind }
  | { kind: 'xhtml' }
  | { kind: 'resource' }
  | { kind: 'complex'; code: string; node: () => NodeDef };

export interface ChildDef {
  /** The element's name without `[x]`. */
  name: string;
  many: boolean;
  choice: boolean;
  /** `id` of an element and `url` of an Extension: XML attributes (ElementDefinition.representation). */
  attribute: boolean;
  types: TypeRef[];
}

/** One child under one of its names: `valueQuantity` is child `value[x]` with type Quantity. */
export interface Slot {
  child: ChildDef;
  type: TypeRef;
}

export interface NodeDef {
  children: ChildDef[];
  /** By JSON property name, which is also the XML element name. */
  slots: Map<string, Slot>;
}

const SYSTEM = 'http://hl7.org/fhirpath/System.';
const SYSTEM_JSON: Record<string, JsonKind> = { Boolean: 'boolean', Integer: 'number', Decimal: 'number' };

export class XmlModel {
  private readonly nodes = new Map<string, NodeDef>();
  private readonly elements = new Map<string, ElementsOf>();

  constructor(private readonly structures: ReadonlyMap<string, StructureDefinition>) {}

  /** The model of a resource type, or undefined when R4 has no such resource. */
  resource(type: string): NodeDef | undefined {
    const sd = this.structures.get(type);
    return sd?.kind === 'resource' && !sd.abstract ? this.node(type, type) : undefined;
  }

  /** The model of a complex data type (`Extension`, `HumanName`…). */
  type(code: string): NodeDef {
    return this.node(code, code);
  }

  /** The name a choice element takes for a type: `value` + `Quantity` (R4 §2.6.2 choice elements). */
  static choiceName(base: string, type: TypeRef): string {
    const code = type.kind === 'primitive' || type.kind === 'complex' ? type.code : type.kind;
    return base + code.charAt(0).toUpperCase() + code.slice(1);
  }

  private node(type: string, path: string): NodeDef {
    const key = `${type}|${path}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = this.build(type, path);
      this.nodes.set(key, node);
    }
    return node;
  }

  private build(type: string, path: string): NodeDef {
    const of = this.elementsOf(type);
    const children = (of.children.get(path) ?? []).map((e) => this.childDef(type, e, of));
    const slots = new Map<string, Slot>();
    for (const child of children) {
      for (const t of child.types)
        slots.set(child.choice ? XmlModel.choiceName(child.name, t) : child.name, { child, type: t });
    }
    return { children, slots };
  }

  private childDef(type: string, e: ElementDefinition, of: ElementsOf): ChildDef {
    const path = e.path as string;
    const last = path.slice(path.lastIndexOf('.') + 1);
    const choice = last.endsWith('[x]');
    const base: Omit<ChildDef, 'types'> = {
      name: choice ? last.slice(0, -3) : last,
      many: e.max !== '0' && e.max !== '1',
      choice,
      attribute: (e.representation ?? []).includes('xmlAttr'),
    };
    // a backbone element's children follow it in the same snapshot; contentReference points at another one
    const backbone = e.contentReference ? e.contentReference.slice(e.contentReference.indexOf('#') + 1) : undefined;
    if (backbone || of.children.has(path)) {
      const at = backbone ?? path;
      return { ...base, types: [{ kind: 'complex', code: 'BackboneElement', node: () => this.node(type, at) }] };
    }
    return { ...base, types: (e.type ?? []).map((t) => this.typeRef(t.code as string)) };
  }

  private typeRef(code: string): TypeRef {
    if (code.startsWith(SYSTEM))
      return { kind: 'primitive', code, json: SYSTEM_JSON[code.slice(SYSTEM.length)] ?? 'string' };
    if (code === 'xhtml') return { kind: 'xhtml' };
    const sd = this.structures.get(code);
    // Resource, or one named type (Bundle.entry.response.outcome: OperationOutcome): the resource nests whole
    if (sd?.kind === 'resource') return { kind: 'resource' };
    if (sd?.kind === 'primitive-type') return { kind: 'primitive', code, json: this.primitiveJson(sd) };
    return { kind: 'complex', code, node: () => this.node(code, code) };
  }

  /**
   * A primitive's JSON type is that of its `value` element (`integer.value`: System.Integer). R4 types
   * positiveInt's and unsignedInt's value as System.String, so a string-valued one asks the type it derives from.
   */
  private primitiveJson(sd: StructureDefinition): JsonKind {
    const value = sd.snapshot?.element?.find((e) => e.path === `${sd.type}.value`);
    const kind = SYSTEM_JSON[(value?.type?.[0]?.code ?? '').slice(SYSTEM.length)];
    if (kind) return kind;
    const base = this.structures.get(sd.baseDefinition?.split('/').pop() ?? '');
    return base?.kind === 'primitive-type' ? this.primitiveJson(base) : 'string';
  }

  private elementsOf(type: string): ElementsOf {
    let of = this.elements.get(type);
    if (!of) {
      of = childrenByParent(this.structures.get(type));
      this.elements.set(type, of);
    }
    return of;
  }
}

interface ElementsOf {
  /** Parent path → its child elements, in snapshot order. */
  children: Map<string, ElementDefinition[]>;
}

function childrenByParent(sd: StructureDefinition | undefined): ElementsOf {
  const children = new Map<string, ElementDefinition[]>();
  for (const e of sd?.snapshot?.element ?? []) {
    const path = e.path as string;
    const dot = path.lastIndexOf('.');
    // slices restate an element already listed; the base definitions have few, but they add no element
    if (dot < 0 || e.sliceName) continue;
    const parent = path.slice(0, dot);
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(e);
  }
  return { children };
}

const models = new WeakMap<ReadonlyMap<string, StructureDefinition>, XmlModel>();

/** One model per loaded set of StructureDefinitions (they are shared, read-only, loaded once). */
export function xmlModel(structures: ReadonlyMap<string, StructureDefinition>): XmlModel {
  let model = models.get(structures);
  if (!model) models.set(structures, (model = new XmlModel(structures)));
  return model;
}
