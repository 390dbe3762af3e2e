import type { CodeSystemConceptDesignation } from '@medplum/fhirtypes';
import type { CodeSystemIndex, Concept } from './codesystem.js';

/**
 * Languages a client asked for, best first: `displayLanguage` (a single code) or an Accept-Language
 * header (`nb-NO, en;q=0.5`). `*` and q=0 entries are dropped.
 */
export function parseLanguages(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.trim(), q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((l) => l.tag && l.tag !== '*' && l.q > 0)
    .sort((a, b) => b.q - a.q)
    .map((l) => l.tag);
}

/**
 * Whether a language list forbids other languages (`de, *; q=0`): then a concept with no text in the
 * asked languages is shown without a display rather than in its own language (RFC 9110 §12.5.4:
 * q=0 means "not acceptable").
 */
export function othersRefused(value: string | undefined): boolean {
  return (value ?? '').split(',').some((part) => {
    const [tag, ...params] = part.split(';').map((p) => p.trim());
    return tag === '*' && params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

/**
 * A weighted language list written the usual way (`de,*;q=0` as `de, *; q=0`), as an expansion
 * reports the one it used; a list without weights is reported as given.
 */
export function formatLanguages(value: string): string {
  if (!value.includes(';')) return value;
  return value
    .split(',')
    .map((part) =>
      part
        .split(';')
        .map((p) => p.trim())
        .join('; '),
    )
    .join(', ');
}

/** Whether a designation's language serves a requested one (`en` serves `en-US` and the reverse). */
export function languageMatches(have: string | undefined, wanted: string): boolean {
  if (!have) return false;
  const h = have.toLowerCase();
  const w = wanted.toLowerCase();
  return h === w || h.startsWith(`${w}-`) || w.startsWith(`${h}-`);
}

/** The language of a concept's own display: the code system's language (R4 CodeSystem.language). */
export function systemLanguage(cs: CodeSystemIndex): string | undefined {
  return cs.resource.language;
}

/**
 * The display to show for a concept in the requested languages: the first language that the code
 * system's own display or one of its designations is in; the system's display when none is.
 */
export function displayIn(
  cs: CodeSystemIndex,
  concept: Concept,
  languages: string[],
  fallback = true,
): string | undefined {
  for (const lang of languages) {
    if (languageMatches(systemLanguage(cs), lang) && concept.display !== undefined) return concept.display;
    const d = concept.designations.find((x) => languageMatches(x.language, lang) && isDisplayUse(x));
    if (d) return d.value;
  }
  return fallback || !languages.length ? concept.display : undefined;
}

/** Designations usable as a display: those without a use, or marked as display or preferred. */
function isDisplayUse(d: CodeSystemConceptDesignation): boolean {
  const code = d.use?.code;
  return code === undefined || code === 'display' || code === 'preferredForLanguage' || code === '900000000000013009';
}

/** The designation use of a concept's own display among its translations (HL7 terminology maintenance). */
export const PREFERRED_FOR_LANGUAGE = {
  system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
  code: 'preferredForLanguage',
  display: 'Preferred For Language',
};
