import { FhirError } from '../fhir/errors.js';
import { decodeAttribute } from './escape.js';
import { XmlModel, type JsonKind, type NodeDef, type Slot } from './model.js';
import { parseXml, type XElement } from './parse.js';
import { FHIR_NS } from './write.js';
import { divFromXml } from './xhtml.js';

/**
 * XML → JSON (R4 §2.6.2 xml.html and json.html): the root's name is `resourceType`, repeating elements
 * become arrays where the definition allows many, primitive values are typed back (boolean, integer and
 * decimal unquoted) with their `id` and extensions in the `_name` twin (arrays padded with null).
 * What the definitions do not know (an unknown element, a repeat of a single one, a value that is not
 * of its type) is carried over as it stands, so the validator refuses it with the same 4xx and element
 * path as the same mistake in JSON.
 */
type Json = Record<string, unknown>;

export function resourceFromXml(model: XmlModel, text: string, maxDepth: number): Json {
  const root = parseXml(text, maxDepth);
  if (root.attributes.xmlns !== FHIR_NS) {
    throw new FhirError('invalid', {
      message: `The root element must be in the FHIR namespace (xmlns="${FHIR_NS}")`,
      code: 'structure',
    });
  }
  return readResource(model, root, root.name);
}

function readResource(model: XmlModel, el: XElement, path: string): Json {
  const json: Json = { resourceType: el.name };
  const node = model.resource(el.name);
  if (node) readChildren(model, node, el, json, path);
  else Object.assign(json, unknownContent(el));
  return json;
}

function readChildren(model: XmlModel, node: NodeDef, el: XElement, json: Json, path: string): void {
  noText(el, path);
  for (const [name, raw] of Object.entries(el.attributes)) {
    if (name === 'xmlns' || name.includes(':')) continue;
    const slot = node.slots.get(name);
    json[name] = slot?.child.attribute ? decoded(raw, `${path}.${name}`) : decodedOrRaw(raw);
  }
  for (const [name, group] of byName(el.children)) {
    const slot = node.slots.get(name);
    if (!slot || slot.child.attribute) {
      json[name] = group.length === 1 ? unknownContent(group[0]) : group.map(unknownContent);
      continue;
    }
    const many = slot.child.many || group.length > 1;
    if (slot.type.kind === 'primitive') readPrimitives(model, slot.type.json, group, json, name, many, path);
    else {
      const values = group.map((child, i) =>
        readValue(model, slot, child, many ? `${path}.${name}[${i}]` : `${path}.${name}`),
      );
      json[name] = many ? values : values[0];
    }
  }
}

function readValue(model: XmlModel, slot: Slot, el: XElement, path: string): unknown {
  if (slot.type.kind === 'xhtml') return divFromXml(el.attributes, el.text, path);
  if (slot.type.kind === 'resource') {
    noText(el, path);
    if (el.children.length !== 1) {
      throw new FhirError('invalid', {
        message: 'A resource element holds exactly one resource',
        code: 'structure',
        expression: path,
      });
    }
    return readResource(model, el.children[0], path);
  }
  const json: Json = {};
  if (slot.type.kind === 'complex') readChildren(model, slot.type.node(), el, json, path);
  return json;
}

/** Values and `_name` twins of a primitive element, in the arrays JSON keeps parallel (R4 §2.6.2 json.html). */
function readPrimitives(
  model: XmlModel,
  kind: JsonKind,
  group: XElement[],
  json: Json,
  name: string,
  many: boolean,
  path: string,
): void {
  const values: unknown[] = [];
  const twins: (Json | null)[] = [];
  group.forEach((el, i) => {
    const where = many ? `${path}.${name}[${i}]` : `${path}.${name}`;
    const raw = el.attributes.value;
    values.push(raw === undefined ? null : typed(kind, decoded(raw, where)));
    const twin: Json = {};
    readChildren(model, model.type('Element'), { ...el, attributes: withoutValue(el.attributes) }, twin, where);
    twins.push(Object.keys(twin).length ? twin : null);
  });
  if (values.some((v) => v !== null)) json[name] = many ? values : values[0];
  if (twins.some((t) => t !== null)) json[`_${name}`] = many ? twins : twins[0];
}

/** A value attribute in its JSON type; one that is not of it stays a string, for the validator to name. */
function typed(kind: JsonKind, value: string): unknown {
  if (kind === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (kind === 'number') return /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(value) ? Number(value) : value;
  return value;
}

function withoutValue(attributes: Record<string, string>): Record<string, string> {
  const rest = { ...attributes };
  delete rest.value;
  return rest;
}

/** An element the definitions do not know, in the shape its JSON would most likely have had. */
function unknownContent(el: XElement): unknown {
  const value = el.attributes.value;
  if (value !== undefined && !el.children.length) return decodedOrRaw(value);
  const json: Json = {};
  for (const [name, raw] of Object.entries(el.attributes)) if (name !== 'xmlns') json[name] = decodedOrRaw(raw);
  for (const [name, group] of byName(el.children))
    json[name] = group.length === 1 ? unknownContent(group[0]) : group.map(unknownContent);
  return json;
}

function byName(children: XElement[]): Map<string, XElement[]> {
  const groups = new Map<string, XElement[]>();
  for (const child of children) {
    const group = groups.get(child.name);
    if (group) group.push(child);
    else groups.set(child.name, [child]);
  }
  return groups;
}

function decoded(raw: string, path: string): string {
  const value = decodeAttribute(raw);
  if (typeof value === 'string') return value;
  throw new FhirError('invalid', {
    message: `Unknown entity reference '${value.unknownEntity}': XML's own five and character references only`,
    code: 'structure',
    expression: path,
  });
}

function decodedOrRaw(raw: string): string {
  const value = decodeAttribute(raw);
  return typeof value === 'string' ? value : raw;
}

/** FHIR elements hold no text of their own (R4 §2.6.2): only the div does. */
function noText(el: XElement, path: string): void {
  if (el.text.trim()) {
    throw new FhirError('invalid', {
      message: `Element '${el.name}' has text content; FHIR XML carries values in the value attribute`,
      code: 'structure',
      expression: path,
    });
  }
}
