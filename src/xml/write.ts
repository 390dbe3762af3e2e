import { FhirError } from '../fhir/errors.js';
import { escapeAttribute } from './escape.js';
import { XmlModel, type ChildDef, type NodeDef, type TypeRef } from './model.js';
import { divForXml } from './xhtml.js';

/**
 * JSON → XML (R4 §2.6 xml.html, read against §2.6.2 json.html): the resource's type is the root element
 * in the FHIR namespace, every property an element in snapshot order, primitives carry `value` with the
 * `id` and extensions of their `_name` twin, `id` of elements and `url` of extensions are attributes,
 * the narrative's div is copied in its XHTML namespace, and nested resources sit inside their element.
 */
export const FHIR_NS = 'http://hl7.org/fhir';

type Json = Record<string, unknown>;

export function resourceToXml(model: XmlModel, resource: Json, pretty = false): string {
  const out = new Out(pretty);
  out.parts.push('<?xml version="1.0" encoding="UTF-8"?>', pretty ? '\n' : '');
  writeResource(model, out, resource, '', true);
  return out.parts.join('');
}

class Out {
  readonly parts: string[] = [];
  depth = 0;
  constructor(readonly pretty: boolean) {}

  /** Opens an element; returns a mark for `close`, which makes it `<x/>` when nothing was written inside. */
  open(name: string, attributes: string): number {
    this.parts.push(this.indent(), `<${name}${attributes}>`, this.pretty ? '\n' : '');
    this.depth++;
    return this.parts.length;
  }

  close(name: string, mark: number): void {
    this.depth--;
    if (this.parts.length === mark) {
      this.parts[mark - 2] = this.parts[mark - 2].replace(/>$/, '/>');
      return;
    }
    this.parts.push(this.indent(), `</${name}>`, this.pretty ? '\n' : '');
  }

  line(text: string): void {
    this.parts.push(this.indent(), text, this.pretty ? '\n' : '');
  }

  private indent(): string {
    return this.pretty ? '  '.repeat(this.depth) : '';
  }
}

function writeResource(model: XmlModel, out: Out, resource: Json, path: string, root: boolean): void {
  const type = resource.resourceType;
  const node = typeof type === 'string' ? model.resource(type) : undefined;
  if (!node || typeof type !== 'string') throw unknownElement(`${path}resourceType`, `resource type '${String(type)}'`);
  const mark = out.open(type, root ? ` xmlns="${FHIR_NS}"` : '');
  writeChildren(model, out, node, resource, type, ['resourceType']);
  out.close(type, mark);
}

/** The element children of a node, in definition order; a property the definitions do not know is refused. */
function writeChildren(model: XmlModel, out: Out, node: NodeDef, obj: Json, path: string, known: string[] = []): void {
  const used = new Set(known);
  for (const child of node.children) {
    if (child.attribute) {
      used.add(child.name);
      continue;
    }
    for (const type of child.types) {
      const name = child.choice ? XmlModel.choiceName(child.name, type) : child.name;
      if (obj[name] === undefined && obj[`_${name}`] === undefined) continue;
      used.add(name).add(`_${name}`);
      writeProperty(model, out, { child, type, name }, obj[name], obj[`_${name}`], `${path}.${name}`);
    }
  }
  for (const key of Object.keys(obj)) if (!used.has(key)) throw unknownElement(`${path}.${key}`, `element '${key}'`);
}

interface Named {
  child: ChildDef;
  type: TypeRef;
  name: string;
}

function writeProperty(model: XmlModel, out: Out, at: Named, value: unknown, twin: unknown, path: string): void {
  const values = list(value);
  const twins = list(twin);
  for (let i = 0; i < Math.max(values.length, twins.length); i++) {
    const where = at.child.many ? `${path}[${i}]` : path;
    const v = values[i] ?? undefined;
    if (at.type.kind === 'primitive') writePrimitive(model, out, at.name, v, twins[i] ?? undefined, where);
    else if (at.type.kind === 'xhtml') out.line(divForXml(v, where));
    else if (at.type.kind === 'resource') {
      const mark = out.open(at.name, '');
      writeResource(model, out, asObject(v, where), `${where}.`, false);
      out.close(at.name, mark);
    } else writeComplex(model, out, at.name, at.type.node(), asObject(v, where), where);
  }
}

function writeComplex(model: XmlModel, out: Out, name: string, node: NodeDef, obj: Json, path: string): void {
  let attributes = '';
  for (const child of node.children) {
    const v = obj[child.name];
    if (child.attribute && v !== undefined) attributes += ` ${child.name}="${escapeAttribute(primitiveText(v, path))}"`;
  }
  const mark = out.open(name, attributes);
  writeChildren(model, out, node, obj, path);
  out.close(name, mark);
}

/** `<given id="a" value="Jan"><extension …/></given>`: the value and the `_given` twin in one element. */
function writePrimitive(model: XmlModel, out: Out, name: string, value: unknown, twin: unknown, path: string): void {
  const extras = twin === undefined || twin === null ? {} : asObject(twin, path);
  let attributes = '';
  if (extras.id !== undefined) attributes += ` id="${escapeAttribute(primitiveText(extras.id, path))}"`;
  if (value !== undefined && value !== null) attributes += ` value="${escapeAttribute(primitiveText(value, path))}"`;
  const mark = out.open(name, attributes);
  list(extras.extension).forEach((e, i) => {
    const where = `${path}.extension[${i}]`;
    writeComplex(model, out, 'extension', model.type('Extension'), asObject(e, where), where);
  });
  for (const key of Object.keys(extras)) {
    if (key !== 'id' && key !== 'extension') throw unknownElement(`${path}.${key}`, `element '${key}'`);
  }
  out.close(name, mark);
}

function primitiveText(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new FhirError('unprocessable', {
    message: 'A primitive value must be a string, number or boolean',
    expression: path,
  });
}

function asObject(v: unknown, path: string): Json {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  throw new FhirError('unprocessable', { message: 'A complex element must be a JSON object', expression: path });
}

function list(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function unknownElement(path: string, what: string): FhirError {
  return new FhirError('unprocessable', {
    message: `Unknown ${what}: it has no place in the R4 definitions, so it cannot be written as XML`,
    code: 'structure',
    expression: path.replace(/^\./, ''),
  });
}
