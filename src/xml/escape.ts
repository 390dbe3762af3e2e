/**
 * Character escaping for the XML we write and entity decoding for the XML we read (XML 1.0 §2.4, §3.3.3,
 * §4.6). Only the five predefined entities and character references exist here: a document declaring its
 * own entities (a DTD) is refused before this is reached.
 */

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

/**
 * An attribute value. Line breaks and tabs are written as character references, since a parser
 * normalises literal ones to spaces (XML 1.0 §3.3.3) and markdown or strings would lose them.
 */
export function escapeAttribute(value: string): string {
  return /[&<>"\n\r\t]/.test(value) ? value.replace(/[&<>"\n\r\t]/g, (c) => ATTRIBUTE_ESCAPES[c]) : value;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** An attribute value as the application sees it: whitespace normalised, then references replaced. */
export function decodeAttribute(raw: string): string | { unknownEntity: string } {
  const normalised = raw.replace(/\r\n|[\t\n\r]/g, ' ');
  if (!normalised.includes('&')) return normalised;
  let unknown: string | undefined;
  const decoded = normalised.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    const ch = referenced(name);
    if (ch === undefined || !whole.endsWith(';')) unknown ??= whole;
    return ch ?? '';
  });
  return unknown === undefined ? decoded : { unknownEntity: unknown };
}

function referenced(name: string): string | undefined {
  if (Object.hasOwn(PREDEFINED, name)) return PREDEFINED[name];
  const code = /^#x[0-9a-fA-F]+$/.test(name)
    ? parseInt(name.slice(2), 16)
    : /^#[0-9]+$/.test(name)
      ? parseInt(name.slice(1), 10)
      : NaN;
  return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
}

/** Character data: the two characters markup would take. */
export function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/**
 * HTML's named entities that narratives use (and Norwegian text needs) as XML character references;
 * any other name is not XML, so its ampersand is escaped and the name shows as written.
 */
const HTML_ENTITIES: Record<string, number> = {
  nbsp: 160,
  copy: 169,
  reg: 174,
  trade: 8482,
  deg: 176,
  plusmn: 177,
  times: 215,
  divide: 247,
  micro: 181,
  middot: 183,
  bull: 8226,
  hellip: 8230,
  ndash: 8211,
  mdash: 8212,
  lsquo: 8216,
  rsquo: 8217,
  ldquo: 8220,
  rdquo: 8221,
  laquo: 171,
  raquo: 187,
  sect: 167,
  para: 182,
  euro: 8364,
  le: 8804,
  ge: 8805,
  ne: 8800,
  aelig: 230,
  AElig: 198,
  oslash: 248,
  Oslash: 216,
  aring: 229,
  Aring: 197,
  auml: 228,
  Auml: 196,
  ouml: 246,
  Ouml: 214,
  uuml: 252,
  Uuml: 220,
  eacute: 233,
  Eacute: 201,
  shy: 173,
  sup2: 178,
  frac12: 189,
};

export function withXmlEntities(html: string): string {
  if (!html.includes('&')) return html;
  return html.replace(/&([A-Za-z][A-Za-z0-9]*);/g, (whole, name: string) => {
    if (Object.hasOwn(PREDEFINED, name)) return whole;
    return Object.hasOwn(HTML_ENTITIES, name) ? `&#${HTML_ENTITIES[name]};` : `&amp;${name};`;
  });
}
