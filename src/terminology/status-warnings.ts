import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { STANDARDS_STATUS } from './codesystem.js';
import { canonicalOf } from './supplements.js';

/**
 * Warnings about the standing of the definitions an answer relied on: a code system or value set
 * marked deprecated or withdrawn (the standards-status extension), and a code system that is still a
 * draft or experimental (R4 CodeSystem.status, .experimental). A value set being a draft is the normal
 * state of one under work and is not reported.
 */
export type StatusKind = 'deprecated' | 'withdrawn' | 'draft' | 'experimental';

export interface StatusWarning {
  kind: StatusKind;
  type: 'CodeSystem' | 'ValueSet';
  /** `url|version` of the definition. */
  canonical: string;
}

export function statusWarnings(r: CodeSystem | ValueSet): StatusWarning[] {
  const kinds: StatusKind[] = [];
  const standards = r.extension?.find((e) => e.url === STANDARDS_STATUS)?.valueCode;
  if (standards === 'deprecated' || standards === 'withdrawn') kinds.push(standards);
  if (r.resourceType === 'CodeSystem' && r.status === 'draft') kinds.push('draft');
  if (r.resourceType === 'CodeSystem' && r.experimental === true) kinds.push('experimental');
  return kinds.map((kind) => ({ kind, type: r.resourceType, canonical: canonicalOf(r) }));
}

/** Adds warnings to a list, each once. */
export function addWarnings(list: StatusWarning[], more: StatusWarning[]): void {
  for (const w of more)
    if (!list.some((x) => x.kind === w.kind && x.canonical === w.canonical && x.type === w.type)) list.push(w);
}
