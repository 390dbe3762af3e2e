import type { Patient, Practitioner, RelatedPerson } from '@medplum/fhirtypes';

/** Fødselsnummer and D-nummer (and the H-nummer) identifier systems. */
export const FNR_SYSTEMS = [
  'urn:oid:2.16.578.1.12.4.1.4.1',
  'urn:oid:2.16.578.1.12.4.1.4.2',
  'urn:oid:2.16.578.1.12.4.1.4.3',
];

/** A person's name as written in Norway: given names, then the family name. */
export function nameOf(p: Patient | Practitioner | RelatedPerson): string {
  const n = p.name?.[0];
  if (!n) return `${p.resourceType}/${p.id}`;
  return n.text ?? [...(n.given ?? []), n.family].filter(Boolean).join(' ');
}
