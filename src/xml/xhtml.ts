import { XMLValidator } from 'fast-xml-parser';
import { FhirError } from '../fhir/errors.js';
import { escapeText, withXmlEntities } from './escape.js';

/**
 * The narrative's `div` (R4 §2.4 narrative, §2.6.2 xml.html): in XML an element in the XHTML namespace, in
 * JSON the same element as a string. It is carried whole both ways, never rebuilt from parts, so its
 * markup stays as written.
 */
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

const START = /^(\s*<div)(?=[\s/>])/;

/**
 * The JSON string as XML; a div written without its namespace declaration gets one (JSON requires it too).
 * The JSON path does not check the narrative's markup, so a stored one may not be XML: HTML's named
 * entities become character references, and a div that is still not well-formed is sent as its text.
 */
export function divForXml(value: unknown, path: string): string {
  if (typeof value !== 'string') {
    throw new FhirError('unprocessable', { message: 'The narrative must be an XHTML <div> element', expression: path });
  }
  const xml = withXmlEntities(value);
  if (!START.test(xml) || XMLValidator.validate(xml) !== true) {
    return `<div xmlns="${XHTML_NS}">${escapeText(value).replace(/\r/g, '&#13;')}</div>`;
  }
  const startTag = xml.slice(0, xml.indexOf('>') + 1);
  const declared = /\sxmlns\s*=/.test(startTag) ? xml : xml.replace(START, `$1 xmlns="${XHTML_NS}"`);
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
