import type { CodeSystemConceptProperty, Extension } from '@medplum/fhirtypes';
import type { ExpansionEntry } from './expand.js';

/**
 * Concept properties in an expansion, as R5 ValueSet.expansion.property and contains.property define
 * them (the HL7 terminology tests pre-adopt them in R4): the properties a client asks for with the
 * `property` parameter (`definition` included), and those a code system states through well-known
 * extensions (order, label, weight) or its status, which a client needs to present the codes.
 */
export interface ContainsProperty {
  code: string;
  valueCode?: string;
  valueString?: string;
  valueDecimal?: number;
  valueInteger?: number;
  valueBoolean?: boolean;
  valueCoding?: unknown;
  valueDateTime?: string;
}

export interface PropertyDeclaration {
  code: string;
  uri?: string;
}

const CONCEPT_PROPERTY = 'http://hl7.org/fhir/concept-properties#';
const SD = 'http://hl7.org/fhir/StructureDefinition/';

/** Extensions on a concept that carry a concept property, with the property's code and value type. */
const FROM_EXTENSIONS: { url: string; code: string; uri: string; as: 'valueDecimal' | 'valueString' }[] = [
  { url: `${SD}codesystem-conceptOrder`, code: 'order', uri: `${CONCEPT_PROPERTY}order`, as: 'valueDecimal' },
  { url: `${SD}valueset-conceptOrder`, code: 'order', uri: `${CONCEPT_PROPERTY}order`, as: 'valueDecimal' },
  { url: `${SD}codesystem-label`, code: 'label', uri: `${CONCEPT_PROPERTY}label`, as: 'valueString' },
  { url: `${SD}valueset-label`, code: 'label', uri: `${CONCEPT_PROPERTY}label`, as: 'valueString' },
  { url: `${SD}itemWeight`, code: 'weight', uri: `${CONCEPT_PROPERTY}itemWeight`, as: 'valueDecimal' },
];

function extensionValue(e: Extension): number | string | undefined {
  return e.valueDecimal ?? e.valueInteger ?? e.valueString;
}

/** The properties stated by extensions: on the value set's own entry first, else on the concept. */
function extensionProperties(e: ExpansionEntry, out: Map<string, ContainsProperty>, uris: Map<string, string>): void {
  for (const ext of [...(e.extensions ?? []), ...(e.concept?.extensions ?? [])]) {
    const known = FROM_EXTENSIONS.find((f) => f.url === ext.url);
    const value = known ? extensionValue(ext) : undefined;
    if (!known || value === undefined || out.has(known.code)) continue;
    out.set(known.code, { code: known.code, [known.as]: known.as === 'valueDecimal' ? Number(value) : String(value) });
    uris.set(known.code, known.uri);
  }
}

function propertyValue(code: string, p: CodeSystemConceptProperty): ContainsProperty {
  const key = Object.keys(p).find((k) => k.startsWith('value')) as keyof CodeSystemConceptProperty | undefined;
  return key ? { code, [key]: p[key] } : { code };
}

/**
 * The properties of one expansion entry: the requested ones, those from extensions, and its status.
 * `uris` collects each property's uri for the expansion's declarations.
 */
export function entryProperties(
  e: ExpansionEntry,
  requested: string[],
  uris: Map<string, string | undefined>,
): ContainsProperty[] {
  const out = new Map<string, ContainsProperty>();
  const concept = e.concept;
  if (!concept || !e.cs) return [];
  const cs = e.cs;
  const values: ContainsProperty[] = [];
  for (const code of requested) {
    if (code === 'definition') {
      if (concept.definition !== undefined) values.push({ code, valueString: concept.definition });
      uris.set(code, `${CONCEPT_PROPERTY}definition`);
      continue;
    }
    const found = concept.properties.filter((p) => p.code === code || cs.role(p.code) === code);
    for (const p of found) values.push(propertyValue(code, p));
    uris.set(code, cs.resource.property?.find((d) => d.code === code)?.uri);
  }
  const fromExtensions = new Map<string, string>();
  extensionProperties(e, out, fromExtensions);
  for (const [code, uri] of fromExtensions) uris.set(code, uri);
  // only a status that changes how the code may be used is shown
  if (concept.status && concept.status !== 'active' && !requested.includes('status')) {
    out.set('status', { code: 'status', valueCode: concept.status });
    uris.set('status', `${CONCEPT_PROPERTY}status`);
  }
  return [...values, ...[...out.values()].filter((p) => !requested.includes(p.code))];
}

/** The expansion's declarations of the properties its entries carry (R5 ValueSet.expansion.property). */
export function propertyDeclarations(uris: Map<string, string | undefined>): PropertyDeclaration[] {
  return [...uris].map(([code, uri]) => (uri ? { code, uri } : { code }));
}
