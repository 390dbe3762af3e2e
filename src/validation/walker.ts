import type {
  ElementDefinition,
  ElementDefinitionSlicingDiscriminator,
  OperationOutcomeIssue,
} from '@medplum/fhirtypes';
import type { Invariants } from './constraints.js';
import { datatypeIssues } from './datatype-rules.js';
import { elementName, type Structure, type Structures } from './structures.js';

/** A coded value whose binding is checked after the walk (it needs the terminology service). */
export interface BindingCheck {
  valueSet: string;
  strength: 'required' | 'extensible';
  type: string;
  value: unknown;
  path: string;
}

/** What one walk collects; nested resources (contained, Bundle entries) are handed back to the caller. */
export interface WalkResult {
  issues: OperationOutcomeIssue[];
  bindings: BindingCheck[];
  /** Codings to check against their code system (a known, complete system must define the code). */
  codings: { system: string; code: string; path: string; display?: string }[];
  nested: { resource: { resourceType: string }; path: string }[];
  /** Extensions with an absolute url, for the caller to look up (and walk against their definitions). */
  extensions: { url: string; path: string; value: Record<string, unknown> }[];
}

/** Where the walker is: the base structure giving the elements, and a profile's overrides (by id). */
interface Place {
  src: Structure;
  id: string;
  over?: { profile: Structure; id: string };
}

const PRIMITIVES = new Set([
  'boolean',
  'integer',
  'string',
  'decimal',
  'uri',
  'url',
  'canonical',
  'base64Binary',
  'instant',
  'date',
  'dateTime',
  'time',
  'code',
  'oid',
  'id',
  'markdown',
  'unsignedInt',
  'positiveInt',
  'uuid',
  'xhtml',
]);
/** Types a binding applies to (R4 §2.4.0.1; a Quantity's unit by its system and code). */
const CODED = new Set(['code', 'Coding', 'CodeableConcept', 'Quantity']);
const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const typeCode = (t: { code?: string }) =>
  t.code?.startsWith('http://hl7.org/fhirpath/System.') ? 'string' : (t.code ?? 'string');

/**
 * Walks a resource against StructureDefinitions (R4 §2.4 / §1.16.4): cardinality, choice types,
 * fixed and pattern values, slicing on value/pattern/type discriminators, invariants, and collects
 * bindings, codings, extensions and nested resources for the asynchronous checks that follow.
 * Unknown elements and primitive formats are the JSON schema's job (schema.ts), done before.
 */
export class Walker {
  constructor(
    private readonly structures: Structures,
    private readonly invariants: Invariants,
  ) {}

  /** `container`: for a contained resource, the resource containing it (`%rootResource`, ref-1). */
  walk(
    resource: Record<string, unknown>,
    root: string,
    profiles: Structure[],
    container: unknown = resource,
  ): WalkResult {
    const out: WalkResult = { issues: [], bindings: [], codings: [], nested: [], extensions: [] };
    const base = this.structures.base(resource.resourceType as string);
    if (!base) return out;
    const places: Place[] = profiles.length
      ? profiles.map((p) => ({ src: base, id: base.type, over: { profile: p, id: base.type } }))
      : [{ src: base, id: base.type }];
    for (const place of places) {
      this.checkInvariants(
        base.byId.get(base.type),
        place.over?.profile.byId.get(base.type),
        base.type,
        resource,
        container,
        root,
        out,
      );
      this.complex(resource, place, root, container, out);
    }
    return out;
  }

  /** A datatype value (an extension, say) against a profile of that datatype. */
  walkDatatype(value: Record<string, unknown>, path: string, profile: Structure, root: unknown): WalkResult {
    const out: WalkResult = { issues: [], bindings: [], codings: [], nested: [], extensions: [] };
    const base = this.structures.base(profile.type);
    if (!base) return out;
    this.checkInvariants(base.byId.get(base.type), profile.byId.get(base.type), base.type, value, root, path, out);
    this.complex(value, { src: base, id: base.type, over: { profile, id: base.type } }, path, root, out);
    return out;
  }

  /** The children of a complex value: each element's values checked, then recursed into. */
  private complex(value: Record<string, unknown>, at: Place, path: string, root: unknown, out: WalkResult): void {
    const kids = at.src.children.get(at.id) ?? [];
    for (const base of kids) {
      const name = elementName(base);
      const overId = at.over ? `${at.over.id}.${name}` : undefined;
      const def = mergeDef(base, overId ? at.over?.profile.byId.get(overId) : undefined);
      // most elements of a type are absent: skip them unless something is required of them
      const required =
        (def.min ?? 0) > 0 ||
        (overId !== undefined && (at.over?.profile.slices.get(overId) ?? []).some((sl) => (sl.min ?? 0) > 0));
      if (!required && !keysOf(base).some(({ key }) => value[key] !== undefined || value[`_${key}`] !== undefined))
        continue;
      if (def.max === '0') {
        if (presentKeys(value, def).length)
          out.issues.push(
            issue('error', 'structure', `${path}.${name}: not allowed by the profile (max 0)`, `${path}.${name}`),
          );
        continue;
      }
      const wrongType = this.disallowedChoices(value, base, def, path, out);
      const present = this.valuesOf(value, def);
      // a value of a type the profile does not allow is the one fault: not also a missing value
      if (wrongType && present.every((p) => !p.items.length)) continue;
      if (present.length > 1) {
        // a choice has one value (R4 §2.24.0.1): valueString and valueBoolean together are an error
        out.issues.push(
          issue(
            'error',
            'structure',
            `${path}.${name}: only one of ${present.map((p) => p.key).join(', ')} may be present`,
            `${path}.${present[1].key}`,
          ),
        );
      }
      for (const { key, type, items } of present) {
        const itemPath = `${path}.${key}`;
        this.primitiveExtensions(value[`_${key}`], itemPath, root, out);
        this.cardinality(def, items.length, itemPath, out);
        const slicing = overId ? at.over?.profile.byId.get(overId)?.slicing : undefined;
        const slices = overId && slicing ? (at.over?.profile.slices.get(overId) ?? []) : [];
        const assigned = slices.length
          ? this.assign(items, slices, slicing?.discriminator ?? [], at.over!.profile, type)
          : items.map(() => undefined);
        if (slices.length) this.sliceCounts(slices, assigned, slicing?.rules, itemPath, out);
        items.forEach((item, i) => {
          const p = def.max === '1' && items.length === 1 ? itemPath : `${itemPath}[${i}]`;
          if (item === null || item === undefined) {
            // a primitive present only through `_key` (extensions, data-absent-reason) has no code for a
            // required binding to accept (the reference validator reports it so)
            const b = def.binding;
            if (b?.strength === 'required' && b.valueSet && type === 'code')
              out.bindings.push({ valueSet: b.valueSet, strength: 'required', type, value: undefined, path: p });
            return;
          }
          const slice = assigned[i];
          const itemDef = slice ? mergeDef(def, slice) : def;
          const itemOverId = slice ? (slice.id as string) : overId;
          this.item(item, itemDef, type, base, at, itemOverId, p, root, out);
        });
      }
    }
  }

  /** The values an element has: by its JSON name, or for a choice `value[x]` by each typed name. */
  private valuesOf(
    value: Record<string, unknown>,
    def: ElementDefinition,
  ): { key: string; type: string; items: unknown[] }[] {
    const name = elementName(def);
    const keys = keysOf(def);
    const out: { key: string; type: string; items: unknown[] }[] = [];
    for (const { key, type } of keys) {
      const v = value[key];
      const ext = value[`_${key}`];
      if (v === undefined && ext === undefined) {
        if (keys.length === 1) out.push({ key, type, items: [] }); // for min cardinality
        continue;
      }
      const items = Array.isArray(v) ? v : v === undefined ? (Array.isArray(ext) ? ext.map(() => null) : [null]) : [v];
      out.push({ key, type, items });
    }
    if (name.endsWith('[x]') && !out.length) out.push({ key: name, type: keys[0]?.type ?? 'string', items: [] });
    return out;
  }

  /** A choice a profile narrows (`value[x]` to Coding only): a value of another base type is an error. */
  private disallowedChoices(
    value: Record<string, unknown>,
    base: ElementDefinition,
    def: ElementDefinition,
    path: string,
    out: WalkResult,
  ): boolean {
    const name = elementName(base);
    if (!name.endsWith('[x]') || def.type === base.type) return false;
    const allowed = new Set((def.type ?? []).map(typeCode));
    let found = false;
    for (const t of (base.type ?? []).map(typeCode)) {
      const key = name.slice(0, -3) + upperFirst(t);
      if (!allowed.has(t) && (value[key] !== undefined || value[`_${key}`] !== undefined)) {
        found = true;
        out.issues.push(
          issue(
            'error',
            'structure',
            `${path}.${key}: the profile allows ${name} only as ${[...allowed].join(' or ')}`,
            `${path}.${key}`,
          ),
        );
      }
    }
    return found;
  }

  /** The `_name` part of a primitive (id and extensions; R4 §2.6.2.2): its extensions are walked too. */
  private primitiveExtensions(part: unknown, path: string, root: unknown, out: WalkResult): void {
    const element = this.structures.base('Element');
    if (!element || part === undefined || part === null) return;
    const parts = Array.isArray(part) ? part : [part];
    parts.forEach((p, i) => {
      if (p && typeof p === 'object')
        this.complex(
          p as Record<string, unknown>,
          { src: element, id: 'Element' },
          Array.isArray(part) ? `${path}[${i}]` : path,
          root,
          out,
        );
    });
  }

  private cardinality(def: ElementDefinition, count: number, path: string, out: WalkResult): void {
    const min = def.min ?? 0;
    if (count < min)
      out.issues.push(issue('error', 'required', `${path}: minimum required = ${min}, but only found ${count}`, path));
    if (def.max && def.max !== '*' && count > Number(def.max))
      out.issues.push(issue('error', 'structure', `${path}: maximum allowed = ${def.max}, but found ${count}`, path));
  }

  private item(
    item: unknown,
    def: ElementDefinition,
    type: string,
    base: ElementDefinition,
    at: Place,
    overId: string | undefined,
    path: string,
    root: unknown,
    out: WalkResult,
  ): void {
    const fixed = valueX(def, 'fixed');
    if (fixed !== undefined && !deepEqual(fixed, item))
      out.issues.push(issue('error', 'value', `${path}: must be exactly ${JSON.stringify(fixed)}`, path));
    const pattern = valueX(def, 'pattern');
    if (pattern !== undefined && !contains(item, pattern))
      out.issues.push(issue('error', 'value', `${path}: must match the pattern ${JSON.stringify(pattern)}`, path));
    const b = def.binding;
    if (b?.valueSet && (b.strength === 'required' || b.strength === 'extensible') && CODED.has(type)) {
      out.bindings.push({ valueSet: b.valueSet, strength: b.strength, type, value: item, path });
    }
    if (b?.extension && CODED.has(type))
      for (const valueSet of requiredAdditionalBindings(b.extension))
        out.bindings.push({ valueSet, strength: 'required', type, value: item, path });
    if (type === 'Coding') collectCoding(item, path, out);
    if (type === 'CodeableConcept')
      ((item as { coding?: unknown[] }).coding ?? []).forEach((c, i) => collectCoding(c, `${path}.coding[${i}]`, out));
    out.issues.push(...datatypeIssues(type, item, path));
    if (
      type === 'Resource' ||
      (type !== 'BackboneElement' && type !== 'Element' && this.structures.base(type)?.sd.kind === 'resource')
    ) {
      if (item && typeof item === 'object') out.nested.push({ resource: item as { resourceType: string }, path });
      return;
    }
    if (PRIMITIVES.has(type) || typeof item !== 'object' || item === null) {
      this.checkInvariants(base, def, base.path as string, item, root, path, out);
      return;
    }
    // complex: inline (BackboneElement / Element, or a contentReference) or a datatype of its own
    const obj = item as Record<string, unknown>;
    if (!Object.keys(obj).some((k) => k !== 'id')) {
      out.issues.push(issue('error', 'invariant', `${path}: an element must have a value or children (ele-1)`, path));
      return;
    }
    if (type === 'Extension') this.extension(obj, path, out);
    const inline = type === 'BackboneElement' || type === 'Element' || base.contentReference !== undefined;
    let next: Place;
    if (inline) {
      const id = base.contentReference ? base.contentReference.slice(1) : (base.id as string);
      next = { src: at.src, id, over: at.over && overId ? { profile: at.over.profile, id: overId } : undefined };
      this.checkInvariants(base, def, (base.contentReference ? id : base.path) as string, obj, root, path, out);
    } else {
      const dt = this.structures.base(type);
      if (!dt) return;
      next = { src: dt, id: dt.type, over: at.over && overId ? { profile: at.over.profile, id: overId } : undefined };
      // the datatype's own invariants (per-1 on Period …), then the element's (base and profile)
      this.checkInvariants(dt.byId.get(dt.type), undefined, dt.type, obj, root, path, out);
      this.checkInvariants(base, def, base.path as string, obj, root, path, out);
    }
    this.complex(obj, next, path, root, out);
  }

  private extension(ext: Record<string, unknown>, path: string, out: WalkResult): void {
    const hasValue = Object.keys(ext).some((k) => k.startsWith('value'));
    const hasChildren = Array.isArray(ext.extension) && ext.extension.length > 0;
    if (hasValue && hasChildren)
      out.issues.push(
        issue('error', 'invariant', `${path}: an extension has a value or extensions, not both (ext-1)`, path),
      );
    // a nested extension's url is relative to its parent (`day`, `type`): only absolute ones are looked up
    if (typeof ext.url === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(ext.url))
      out.extensions.push({ url: ext.url, path, value: ext });
  }

  /** Invariants of an element (base and profile, each once), evaluated on the node with fhirpath.js. */
  private checkInvariants(
    base: ElementDefinition | undefined,
    over: ElementDefinition | undefined,
    fhirType: string,
    node: unknown,
    root: unknown,
    path: string,
    out: WalkResult,
  ): void {
    const list = [
      ...(base?.constraint ?? []),
      ...(over && over !== base ? (over.constraint ?? []) : []).filter(
        (c) => !(base?.constraint ?? []).some((b) => b.key === c.key),
      ),
    ];
    for (const c of list) {
      if (!this.invariants.applies(c)) continue;
      if (!this.invariants.holds(c, fhirType, node, root)) {
        out.issues.push(
          issue(
            c.severity === 'warning' ? 'warning' : 'error',
            'invariant',
            `${c.key}: ${c.human ?? c.expression}`,
            path,
          ),
        );
      }
    }
  }

  /** Which slice each item belongs to (R4 §5.1.0.14 discriminators: value, pattern, type, exists). */
  private assign(
    items: unknown[],
    slices: ElementDefinition[],
    discriminators: ElementDefinitionSlicingDiscriminator[],
    profile: Structure,
    type: string,
  ): (ElementDefinition | undefined)[] {
    return items.map((item) =>
      slices.find(
        (slice) =>
          discriminators.length > 0 &&
          discriminators.every((d) => {
            const path = d.path ?? '$this';
            const actual = path === '$this' ? [item] : pathValues(item, path);
            if (d.type === 'type') return (slice.type ?? []).some((t) => t.code === type);
            if (d.type === 'exists')
              return actual.length > 0 === (profile.byId.get(`${slice.id}.${path}`)?.min ?? 0) > 0;
            const target = path === '$this' ? slice : profile.byId.get(`${slice.id}.${path}`);
            // an extension slice names its extension by profile: the discriminator `url` matches that
            if (!target && path === 'url' && type === 'Extension')
              return actual.includes(slice.type?.[0]?.profile?.[0]);
            const want = target ? (valueX(target, 'fixed') ?? valueX(target, 'pattern')) : undefined;
            return want !== undefined && actual.some((a) => contains(a, want));
          }),
      ),
    );
  }

  private sliceCounts(
    slices: ElementDefinition[],
    assigned: (ElementDefinition | undefined)[],
    rules: string | undefined,
    path: string,
    out: WalkResult,
  ): void {
    for (const slice of slices) {
      const n = assigned.filter((a) => a === slice).length;
      const name = slice.sliceName ?? slice.id;
      if (n < (slice.min ?? 0))
        out.issues.push(
          issue('error', 'required', `${path}: slice '${name}' requires at least ${slice.min}, found ${n}`, path),
        );
      if (slice.max && slice.max !== '*' && n > Number(slice.max))
        out.issues.push(
          issue('error', 'structure', `${path}: slice '${name}' allows at most ${slice.max}, found ${n}`, path),
        );
    }
    if (rules === 'closed') {
      assigned.forEach((a, i) => {
        if (!a)
          out.issues.push(
            issue(
              'error',
              'structure',
              `${path}[${i}]: matches none of the slices, and the slicing is closed`,
              `${path}[${i}]`,
            ),
          );
      });
    }
  }
}

function issue(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression: string,
): OperationOutcomeIssue {
  return { severity, code, diagnostics, expression: [expression] };
}

function collectCoding(c: unknown, path: string, out: WalkResult): void {
  const coding = c as { system?: string; code?: string; display?: string };
  if (coding?.system && coding.code !== undefined)
    out.codings.push({ system: coding.system, code: coding.code, path, display: coding.display });
}

/** The JSON keys an element may have, with their types: `valueString`, `valueQuantity` … for a choice. */
const KEYS = new WeakMap<ElementDefinition, { key: string; type: string }[]>();
function keysOf(def: ElementDefinition): { key: string; type: string }[] {
  let keys = KEYS.get(def);
  if (!keys) {
    const name = elementName(def);
    const types = (def.type ?? []).map(typeCode);
    keys = name.endsWith('[x]')
      ? types.map((t) => ({ key: name.slice(0, -3) + upperFirst(t), type: t }))
      : [{ key: name, type: types[0] ?? 'BackboneElement' }];
    KEYS.set(def, keys);
  }
  return keys;
}

/** Merged definitions are made once per (base, profile element) pair: definitions do not change. */
const MERGED = new WeakMap<ElementDefinition, WeakMap<ElementDefinition, ElementDefinition>>();

/** The profile's element over the base one: what the profile says wins, the rest is the base's. */
function mergeDef(base: ElementDefinition, over: ElementDefinition | undefined): ElementDefinition {
  if (!over) return base;
  let byOver = MERGED.get(base);
  if (!byOver) MERGED.set(base, (byOver = new WeakMap()));
  const hit = byOver.get(over);
  if (hit) return hit;
  const merged = mergeDefNow(base, over);
  byOver.set(over, merged);
  return merged;
}

function mergeDefNow(base: ElementDefinition, over: ElementDefinition): ElementDefinition {
  const merged: ElementDefinition = { ...base, ...over };
  merged.constraint = [...(base.constraint ?? []), ...(over.constraint ?? [])];
  if (!over.type) merged.type = base.type;
  return merged;
}

function presentKeys(value: Record<string, unknown>, def: ElementDefinition): string[] {
  const name = elementName(def);
  const stem = name.endsWith('[x]') ? name.slice(0, -3) : undefined;
  return Object.keys(value).filter((k) =>
    stem ? k.startsWith(stem) && /^[A-Z]/.test(k.slice(stem.length)) : k === name || k === `_${name}`,
  );
}

const VALUE_X = new WeakMap<ElementDefinition, { fixed?: unknown; pattern?: unknown }>();

/** `fixed[x]` / `pattern[x]` of an element, whatever its type (found once per definition). */
function valueX(def: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  let found = VALUE_X.get(def);
  if (!found) {
    found = {};
    for (const [k, v] of Object.entries(def)) {
      for (const p of ['fixed', 'pattern'] as const)
        if (k.startsWith(p) && k.length > p.length && /^[A-Z]/.test(k[p.length])) found[p] = v;
    }
    VALUE_X.set(def, found);
  }
  return found[prefix];
}

/** Simple dotted paths of a discriminator (`system`, `type.coding.code`), flattening arrays. */
function pathValues(item: unknown, path: string): unknown[] {
  let nodes: unknown[] = [item];
  for (const part of path.split('.')) {
    nodes = nodes.flatMap((n) => {
      const v = n && typeof n === 'object' ? (n as Record<string, unknown>)[part] : undefined;
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    });
  }
  return nodes;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Pattern matching (R4 ElementDefinition.pattern[x]): every value in the pattern is in the instance. */
function contains(actual: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return actual === pattern;
  if (Array.isArray(pattern)) return Array.isArray(actual) && pattern.every((p) => actual.some((a) => contains(a, p)));
  if (!actual || typeof actual !== 'object') return false;
  return Object.entries(pattern).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
}

/** The extension R4 profiles use for R5's `ElementDefinition.binding.additional` (and the tools IG's). */
const ADDITIONAL_BINDING = new Set([
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional',
  'http://hl7.org/fhir/tools/StructureDefinition/additional-binding',
]);

/**
 * The value sets of a binding's additional bindings with purpose `required` (R5 terminologies.html,
 * "Additional Bindings"): every code must also be in each of them, as for a required binding.
 */
function requiredAdditionalBindings(extensions: { url?: string; extension?: unknown[] }[]): string[] {
  const out: string[] = [];
  for (const ext of extensions) {
    if (!ext.url || !ADDITIONAL_BINDING.has(ext.url)) continue;
    const parts = (ext.extension ?? []) as { url?: string; valueCode?: string; valueCanonical?: string }[];
    const purpose = parts.find((p) => p.url === 'purpose')?.valueCode;
    const valueSet = parts.find((p) => p.url === 'valueSet')?.valueCanonical;
    if (purpose === 'required' && valueSet) out.push(valueSet);
  }
  return out;
}
