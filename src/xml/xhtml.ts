import { FhirError } from '../fhir/errors.js';

/**
 * The narrative's `div` (R4 §2.4 narrative, §2.6.2 xml.html): in XML an element in the XHTML namespace, in
 * JSON the same element as a string. It is carried whole both ways, never rebuilt from parts, so its
 * markup stays as written.
 */
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

const START = /^(\s*<div)(?=[\s/>])/;

/** The JSON string as XML; a div written without its namespace declaration gets one (JSON requires it too). */
export function divForXml(value: unknown, path: string): string {
  if (typeof value !== 'string' || !START.test(value)) {
    throw new FhirError('unprocessable', { message: 'The narrative must be an XHTML <div> element', expression: path });
  }
  const startTag = value.slice(0, value.indexOf('>') + 1);
  const declared = /\sxmlns\s*=/.test(startTag) ? value : value.replace(START, `$1 xmlns="${XHTML_NS}"`);
  // a parser turns CR LF into LF (XML 1.0 §2.11): a carriage return survives only as a reference
  return declared.replace(/\r/g, '&#13;');
}

/**
 * The div read from XML as JSON's string: its start tag from the attributes as written (values still
 * escaped; quotes made double) and its content exactly as it stood in the document.
 */
export function divFromXml(attributes: Record<string, string>, content: string, path: string): string {
  if (attributes.xmlns !== XHTML_NS) {
    throw new FhirError('invalid', {
      message: `The narrative div must be in the XHTML namespace (xmlns="${XHTML_NS}")`,
      code: 'structure',
      expression: path,
    });
  }
  const start = Object.entries(attributes)
    .map(([name, raw]) => ` ${name}="${raw.replace(/"/g, '&quot;')}"`)
    .join('');
  return `<div${start}>${content.replace(/&#13;/g, '\r')}</div>`;
}
