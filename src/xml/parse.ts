import { XMLParser, XMLValidator, type X2jOptions } from 'fast-xml-parser';
import { FhirError } from '../fhir/errors.js';

/**
 * XML text → a plain element tree, with fast-xml-parser. Safe by construction: a DTD or entity declaration
 * is refused outright (no external or expanding entities, XXE), entities are not expanded by the parser
 * (attribute values are decoded later, by escape.ts, knowing only XML's own five), nesting is limited,
 * and a malformed document is a 400 naming the line and column.
 */
export interface XElement {
  name: string;
  /** Attribute values as written (undecoded). */
  attributes: Record<string, string>;
  children: XElement[];
  /** Character data directly inside (whitespace included); for a `div`, its whole content, unparsed. */
  text: string;
}

type ParsedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const OPTIONS: X2jOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  // the narrative is XHTML, kept as it stands (R4 §2.4): the parser does not look inside it
  stopNodes: ['*.div'],
};

export function parseXml(text: string, maxDepth: number): XElement {
  const body = text.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) {
    throw malformed('XML with a document type declaration or entity declarations is refused (XXE)');
  }
  const checked = XMLValidator.validate(body);
  if (checked !== true) {
    const { msg, line, col } = checked.err;
    throw malformed(`The body is not well-formed XML: ${msg} (line ${line}, column ${col})`);
  }
  let parsed: ParsedNode[];
  try {
    parsed = new XMLParser({ ...OPTIONS, maxNestedTags: maxDepth }).parse(body) as ParsedNode[];
  } catch (err) {
    throw malformed(`The XML could not be read: ${(err as Error).message}`);
  }
  const declaration = parsed.find((n) => '?xml' in n)?.[':@'];
  const encoding = declaration?.encoding?.toLowerCase();
  if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8') {
    throw malformed(`XML in encoding '${declaration?.encoding}' is not read: send UTF-8`);
  }
  const roots = parsed.filter((n) => !nameOf(n).startsWith('?') && nameOf(n) !== '#text');
  if (roots.length !== 1) throw malformed('The XML document must have exactly one root element');
  return elementOf(roots[0], 1, maxDepth);
}

function elementOf(node: ParsedNode, depth: number, maxDepth: number): XElement {
  if (depth > maxDepth) throw malformed(`The XML nests deeper than ${maxDepth} levels`);
  const name = nameOf(node);
  const element: XElement = { name, attributes: node[':@'] ?? {}, children: [], text: '' };
  for (const child of (node[name] ?? []) as ParsedNode[]) {
    const childName = nameOf(child);
    if (childName === '#text') element.text += String(child['#text']);
    else if (!childName.startsWith('?')) element.children.push(elementOf(child, depth + 1, maxDepth));
  }
  return element;
}

function nameOf(node: ParsedNode): string {
  for (const key of Object.keys(node)) if (key !== ':@') return key;
  return '#text';
}

function malformed(message: string): FhirError {
  return new FhirError('invalid', { message, code: 'structure' });
}
