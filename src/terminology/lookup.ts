import type { CodeSystemConceptDesignation, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import type { CodeSystemIndex, Concept } from './codesystem.js';
import { displayIn, PREFERRED_FOR_LANGUAGE } from './language.js';

/**
 * `CodeSystem/$lookup` (R4 §4.8.15.1): name, version, display, definition, designations and
 * properties of one concept. `properties` limits the properties returned (`*` or none: all).
 */
export function lookupConcept(
  cs: CodeSystemIndex,
  concept: Concept,
  properties: string[],
  languages: string[],
): Parameters {
  const all = properties.length === 0 || properties.includes('*');
  const want = (p: string) => all || properties.includes(p);
  const out: ParametersParameter[] = [];
  if (cs.resource.name) out.push({ name: 'name', valueString: cs.resource.name });
  if (cs.version) out.push({ name: 'version', valueString: cs.version });
  out.push({ name: 'code', valueCode: concept.code }, { name: 'system', valueUri: cs.url });
  const display = displayIn(cs, concept, languages);
  if (display !== undefined) out.push({ name: 'display', valueString: display });
  if (concept.definition !== undefined && want('definition'))
    out.push({ name: 'definition', valueString: concept.definition });
  out.push({ name: 'abstract', valueBoolean: concept.notSelectable });
  if (want('designation')) out.push(...designations(cs, concept));
  const prop = (code: string, value: Omit<ParametersParameter, 'name'>, description?: string) =>
    out.push({
      name: 'property',
      part: [
        { name: 'code', valueCode: code },
        { name: 'value', ...value },
        ...(description ? [{ name: 'description', valueString: description }] : []),
      ],
    });
  if (want('parent')) for (const p of concept.parents) prop('parent', { valueCode: p }, cs.get(p)?.display);
  if (want('child')) for (const c of concept.children) prop('child', { valueCode: c }, cs.get(c)?.display);
  if (want('inactive')) prop('inactive', { valueBoolean: concept.inactive });
  for (const p of concept.properties) {
    if (!p.code || !want(p.code) || cs.role(p.code) === 'parent' || cs.role(p.code) === 'child') continue;
    const key = Object.keys(p).find((k) => k.startsWith('value')) as keyof typeof p | undefined;
    if (key) prop(p.code, { [key]: p[key] });
  }
  return { resourceType: 'Parameters', parameter: out };
}

/**
 * The concept's designations: its display as the preferred one in the code system's language (when
 * the system states one), then every designation, with the supplement it came from as its `source`.
 */
function designations(cs: CodeSystemIndex, concept: Concept): ParametersParameter[] {
  const list: CodeSystemConceptDesignation[] = [...concept.designations];
  if (cs.resource.language && concept.display !== undefined)
    list.unshift({ language: cs.resource.language, use: PREFERRED_FOR_LANGUAGE, value: concept.display });
  return list.map((d) => {
    const source = cs.designationSources.get(d);
    return {
      name: 'designation',
      part: [
        ...(d.language ? [{ name: 'language', valueCode: d.language }] : []),
        ...(d.use ? [{ name: 'use', valueCoding: d.use }] : []),
        ...(source ? [{ name: 'source', valueCanonical: source }] : []),
        { name: 'value', valueString: d.value },
      ],
    };
  });
}

/** `CodeSystem/$subsumes` (R4 §4.8.15.3): how concept A relates to concept B in the hierarchy. */
export function subsumption(
  cs: CodeSystemIndex,
  a: Concept,
  b: Concept,
): 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed' {
  if (a.code === b.code) return 'equivalent';
  if (cs.subsumes(a.code, b.code)) return 'subsumes';
  if (cs.subsumes(b.code, a.code)) return 'subsumed-by';
  return 'not-subsumed';
}
