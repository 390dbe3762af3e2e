import type { Identifier, Reference } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { findMatches } from '../fhir/search/execute.js';
import type { Services } from '../fhir/services.js';
import { NO_SYSTEMS } from '../validation/norwegian.js';

/** Where a bare number is looked for: the organisasjonsnummer (Enhetsregisteret) and the RESH id. */
const UNIT_SYSTEMS: string[] = [NO_SYSTEMS.ENH, NO_SYSTEMS.RESH];
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** What may stand in a token search value or system here (no `,` `|` `$` `\`, which are token syntax). */
const TOKEN_PART = /^[^\s,|$\\]{1,256}$/;
const FORMS = 'Organization/[id], an id, an organisasjonsnummer or RESH id, or system|value';

/** The unit as named: an Organization id, an identifier (any of `systems`), or a bare value that may be either. */
interface UnitName {
  text: string;
  id?: string;
  identifier?: { systems: string[]; value: string };
}

function invalid(message: string): FhirError {
  return new FhirError('invalid', { message: `unit: ${message} (${FORMS})`, expression: 'unit' });
}

function fromIdentifier(id: Identifier, text: string): UnitName {
  if (typeof id.value !== 'string' || !TOKEN_PART.test(id.value)) throw invalid('the identifier has no usable value');
  if (id.system !== undefined && !TOKEN_PART.test(id.system)) throw invalid(`'${id.system}' is not a system`);
  return { text, identifier: { systems: id.system ? [id.system] : UNIT_SYSTEMS, value: id.value } };
}

function fromText(text: string): UnitName {
  if (text.startsWith('Organization/')) {
    const id = text.slice('Organization/'.length);
    if (!RESOURCE_ID.test(id)) throw invalid(`'${text}' is not an Organization reference`);
    return { text, id };
  }
  if (/^[A-Z][A-Za-z]+\//.test(text)) throw invalid(`'${text}' is not an Organization reference`);
  const bar = text.indexOf('|');
  if (bar >= 0) return fromIdentifier({ system: text.slice(0, bar), value: text.slice(bar + 1) }, text);
  if (!TOKEN_PART.test(text)) throw invalid(`'${text}' names no unit`);
  // a bare value: an organisasjonsnummer or RESH id, or the Organization's id as before
  return { text, identifier: { systems: UNIT_SYSTEMS, value: text }, id: RESOURCE_ID.test(text) ? text : undefined };
}

/**
 * Reads the `unit` parameter: a string (`Organization/abc`, `abc`, `974589095`,
 * `urn:oid:2.16.578.1.12.4.1.4.101|974589095`), a Reference (by `reference`, or by `identifier` as
 * R4 §2.3.0 allows a logical reference), or an Identifier.
 */
export function parseUnit(value: unknown): UnitName {
  if (typeof value === 'string') return fromText(value.trim());
  if (typeof value !== 'object' || value === null) throw invalid('give the reporting unit');
  const ref = value as Reference & Identifier;
  if (typeof ref.reference === 'string') return fromText(ref.reference.trim());
  const { identifier } = ref;
  if (identifier) return fromIdentifier(identifier, `${identifier.system ?? ''}|${identifier.value ?? ''}`);
  if (ref.value !== undefined) return fromIdentifier(ref, `${ref.system ?? ''}|${ref.value}`);
  throw invalid('give the reporting unit');
}

/**
 * The id of the Organization the `unit` parameter names. An identifier is resolved by an Organization
 * search (`identifier=`, as a conditional reference is: R4 §3.1.0.11); a bare value matches the
 * Organization with that id or with that organisasjonsnummer or RESH id. None: 404; more than one:
 * 422, naming them — a report for the wrong unit would go to NPR under that unit's number.
 */
export async function resolveUnit(svc: Services, value: unknown): Promise<string> {
  const name = parseUnit(value);
  const db = svc.store.storage;
  const found = new Set<string>();
  if (name.id) {
    const row = await svc.store.current('Organization', name.id, db);
    if (row && !row.deleted) found.add(name.id);
  }
  if (name.identifier) {
    const { systems, value: v } = name.identifier;
    const criteria = new URLSearchParams({ identifier: systems.map((s) => `${s}|${v}`).join(',') }).toString();
    for (const row of await findMatches(svc, 'Organization', criteria, db)) found.add(row.id);
  }
  if (found.size === 0) {
    const message = `unit: no Organization is known as '${name.text}' (${FORMS})`;
    throw new FhirError('not-found', { message, expression: 'unit' });
  }
  if (found.size > 1) {
    const which = [...found].map((id) => `Organization/${id}`).join(' and ');
    throw new FhirError('unprocessable', {
      message: `unit: '${name.text}' names more than one Organization (${which}): give Organization/[id]`,
      expression: 'unit',
      code: 'multiple-matches',
    });
  }
  return [...found][0];
}
