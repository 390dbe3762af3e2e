import type { ElementDefinition, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Structure } from './structures.js';

/**
 * A profile built on another profile (R4 §2.11 profiling.html, "constraints can only be made
 * tighter"): an element's fixed value cannot be changed by a profile deriving from it — the derived
 * profile's instances could then never conform to its base. One error per element that does.
 */
export function derivedProfileIssues(
  sd: { differential?: { element?: ElementDefinition[] } },
  base: Structure,
  path: string,
): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  (sd.differential?.element ?? []).forEach((el, i) => {
    const inBase = base.byId.get(el.id ?? el.path ?? '');
    if (!inBase) return;
    const [key, value] = fixedOf(el);
    const [baseKey, baseValue] = fixedOf(inBase);
    if (key && baseKey && JSON.stringify(value) !== JSON.stringify(baseValue)) {
      out.push({
        severity: 'error',
        code: 'business-rule',
        diagnostics: `${el.id ?? el.path}: ${key} ${JSON.stringify(value)} changes the value ${base.url} fixes (${JSON.stringify(baseValue)})`,
        expression: [`${path}.differential.element[${i}]`],
      });
    }
  });
  return out;
}

function fixedOf(el: ElementDefinition): [string | undefined, unknown] {
  const key = Object.keys(el).find((k) => k.startsWith('fixed') && /^[A-Z]/.test(k.charAt(5)));
  return [key, key ? (el as unknown as Record<string, unknown>)[key] : undefined];
}
