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
  if (name in PREDEFINED) return PREDEFINED[name];
  const code = /^#x[0-9a-fA-F]+$/.test(name)
    ? parseInt(name.slice(2), 16)
    : /^#[0-9]+$/.test(name)
      ? parseInt(name.slice(1), 10)
      : NaN;
  return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
}
