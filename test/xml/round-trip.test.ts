import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { FhirError } from '../../src/fhir/errors.js';
import { xmlModel } from '../../src/xml/model.js';
import { resourceFromXml } from '../../src/xml/read.js';
import { resourceToXml } from '../../src/xml/write.js';
import { ALL_EXAMPLES } from '../support/hl7-examples.js';

/**
 * The XML mapping against the specification's own material: every R4 example goes JSON → XML → JSON and
 * comes back equal, and the rules of R4 §2.6 (xml.html) that the examples exercise are checked one by one.
 * No database: this is the converter alone.
 */
const model = xmlModel(loadDefinitions().structures);
const DEPTH = 64;
const toXml = (r: object, pretty = false) => resourceToXml(model, r as Record<string, unknown>, pretty);
type Json = Record<string, any>;
const fromXml = (xml: string) => resourceFromXml(model, xml, DEPTH) as Json;

describe('JSON → XML → JSON over the R4 examples', () => {
  it('has all 711 examples to work on', () => {
    expect(ALL_EXAMPLES).toHaveLength(711);
  });

  it.each(ALL_EXAMPLES.map((e) => [e.file, e.resource] as const))('%s round-trips', (_file, resource) => {
    expect(fromXml(toXml(resource))).toEqual(resource);
  });

  it('round-trips indented output too (whitespace between elements is not content)', () => {
    for (const e of ALL_EXAMPLES.filter((x) => x.file.startsWith('Bundle-') || x.file.startsWith('Questionnaire')))
      expect(fromXml(toXml(e.resource, true))).toEqual(e.resource);
  });
});

describe('the R4 XML rules', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Kari &amp; Ola</p></div>' },
    active: true,
    name: [{ id: 'n1', family: 'Nordmann', given: ['Kari', 'Ola'], _given: [null, { extension: [ext()] }] }],
    birthDate: '1980-02-03',
    _birthDate: { id: 'bd', extension: [ext()] },
    multipleBirthInteger: 2,
  };

  function ext() {
    return { url: 'http://example.org/x', valueDecimal: 1.25 };
  }

  it('writes elements in definition order whatever the JSON order, with the root in the FHIR namespace', () => {
    const shuffled = Object.fromEntries(Object.entries(patient).reverse());
    const xml = toXml(shuffled);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir">')).toBe(true);
    const order = ['<id ', '<text>', '<active ', '<name ', '<birthDate ', '<multipleBirthInteger '];
    const at = order.map((tag) => xml.indexOf(tag));
    expect(at.every((p) => p > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('puts primitive extensions and ids on the element, element ids and extension urls in attributes', () => {
    const xml = toXml(patient);
    expect(xml).toContain('<name id="n1"><family value="Nordmann"/><given value="Kari"/><given value="Ola">');
    expect(xml).toContain('<extension url="http://example.org/x"><valueDecimal value="1.25"/></extension>');
    expect(xml).toContain('<birthDate id="bd" value="1980-02-03"><extension url="http://example.org/x">');
    expect(xml).toContain('<active value="true"/>');
    expect(xml).toContain('<multipleBirthInteger value="2"/>');
    const back = fromXml(xml);
    expect(back).toEqual(patient);
    expect(typeof back.active).toBe('boolean');
    expect(typeof back.multipleBirthInteger).toBe('number');
  });

  it('keeps an extension-only primitive in an array as a null value (R4 §2.6.2 json.html)', () => {
    const xml =
      '<Patient xmlns="http://hl7.org/fhir"><name><given value="A"/>' +
      '<given><extension url="http://example.org/x"><valueString value="v"/></extension></given>' +
      '<given value="C"/></name></Patient>';
    expect(fromXml(xml)).toEqual({
      resourceType: 'Patient',
      name: [
        {
          given: ['A', null, 'C'],
          _given: [null, { extension: [{ url: 'http://example.org/x', valueString: 'v' }] }, null],
        },
      ],
    });
  });

  it('carries the narrative div whole, in the XHTML namespace, carriage returns included', () => {
    const div = '<div xmlns="http://www.w3.org/1999/xhtml" lang="nb">\r\n<p class="a">x &lt; y</p>\r\n</div>';
    const r = { resourceType: 'Basic', code: { text: 'c' }, text: { status: 'generated', div } };
    const xml = toXml(r);
    expect(xml).toContain('<div xmlns="http://www.w3.org/1999/xhtml" lang="nb">&#13;\n<p class="a">x &lt; y</p>');
    expect(fromXml(xml)).toEqual(r);
  });

  it('declares the XHTML namespace on a JSON div that left it out', () => {
    const r = { resourceType: 'Basic', code: { text: 'c' }, text: { status: 'generated', div: '<div>x</div>' } };
    expect(toXml(r)).toContain('<div xmlns="http://www.w3.org/1999/xhtml">x</div>');
  });

  it('writes well-formed XML for a stored narrative that is not XHTML (the JSON path does not check it)', () => {
    const basic = (div: string) => ({ resourceType: 'Basic', code: { text: 'c' }, text: { status: 'generated', div } });
    const xhtml = '<div xmlns="http://www.w3.org/1999/xhtml">';
    const nbsp = fromXml(toXml(basic(`${xhtml}Kari&nbsp;Nordmann &aring; &bogus; &amp;</div>`)));
    expect(nbsp.text.div).toBe(`${xhtml}Kari&#160;Nordmann &#229; &amp;bogus; &amp;</div>`);
    const unclosed = fromXml(toXml(basic(`${xhtml}<p>open</div>`)));
    expect(unclosed.text.div).toBe(`${xhtml}&lt;div xmlns="http://www.w3.org/1999/xhtml">&lt;p>open&lt;/div></div>`);
    expect(fromXml(toXml(basic('plain & simple'))).text.div).toBe(`${xhtml}plain &amp; simple</div>`);
  });

  it('nests contained, Bundle and Parameters resources inside their element', () => {
    const params = {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'resource',
          resource: { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o' }] },
        },
        { name: 'count', valueInteger: 3 },
        { name: 'amount', valueQuantity: { value: 1.5, unit: 'mg' } },
      ],
    };
    const xml = toXml(params);
    expect(xml).toContain('<resource><Patient><contained><Organization><id value="o"/></Organization></contained>');
    expect(xml).toContain('<valueQuantity><value value="1.5"/><unit value="mg"/></valueQuantity>');
    expect(fromXml(xml)).toEqual(params);
  });

  it('keeps line breaks and markup characters in attribute values', () => {
    const r = { resourceType: 'Basic', code: { text: 'line 1\nline 2\t"quoted" <b> & \r' } };
    const xml = toXml(r);
    expect(xml).toContain('value="line 1&#10;line 2&#9;&quot;quoted&quot; &lt;b&gt; &amp; &#13;"');
    expect(fromXml(xml)).toEqual(r);
  });

  it('reads decimals as the JSON parser does: the number, trailing zeros not kept', () => {
    const xml =
      '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code>' +
      '<valueQuantity><value value="1.50"/></valueQuantity></Observation>';
    expect(fromXml(xml).valueQuantity).toEqual({ value: JSON.parse('1.50') });
  });

  it('refuses a JSON property the definitions do not know, naming it', () => {
    const err = catchError(() => toXml({ resourceType: 'Patient', name: [{ nickname: 'x' }] }));
    expect(err.status).toBe(422);
    expect(err.issues[0].expression).toEqual(['Patient.name[0].nickname']);
  });
});

describe('XML the converter refuses', () => {
  it.each([
    [
      'malformed',
      '<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>',
      /not well-formed XML.*line 1/,
    ],
    [
      'a DTD with an entity',
      '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"/>',
      /XXE/,
    ],
    ['a root outside the FHIR namespace', '<Patient><active value="true"/></Patient>', /FHIR namespace/],
    ['an undeclared entity', '<Patient xmlns="http://hl7.org/fhir"><id value="a&nbsp;b"/></Patient>', /&nbsp;/],
    ['text in an element', '<Patient xmlns="http://hl7.org/fhir"><active>true</active></Patient>', /text content/],
    ['another encoding', '<?xml version="1.0" encoding="ISO-8859-1"?><Patient xmlns="http://hl7.org/fhir"/>', /UTF-8/],
  ])('%s is a 400', (_what, xml, message) => {
    const err = catchError(() => fromXml(xml));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });

  it('refuses nesting past the limit', () => {
    const deep = '<extension url="u">'.repeat(DEPTH + 5) + '</extension>'.repeat(DEPTH + 5);
    const err = catchError(() => fromXml(`<Basic xmlns="http://hl7.org/fhir">${deep}</Basic>`));
    expect(err.status).toBe(400);
  });
});

/** R4 XML instances of the HL7 validator test suite (../shared/conformance). */
describe('official R4 XML instances', () => {
  const dir = join(import.meta.dirname, '../../../shared/conformance/fhir-test-cases-validator');
  const files = ['document-good.xml', 'bundle-good-profile.xml', 'dr-xml-space.xml', 'base64-whitespace.xml'];

  it.each(files)('%s reads, and its JSON round-trips through our XML', (file) => {
    expect(existsSync(join(dir, file))).toBe(true);
    const json = fromXml(readFileSync(join(dir, file), 'utf8'));
    expect(typeof json.resourceType).toBe('string');
    expect(fromXml(toXml(json, true))).toEqual(json);
  });
});

function catchError(fn: () => unknown): FhirError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FhirError) return err;
    throw err;
  }
  throw new Error('expected a FhirError');
}
