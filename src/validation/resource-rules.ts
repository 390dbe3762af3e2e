import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { capabilityIssues } from './capability.js';

/**
 * Rules a resource's definition states in prose rather than as an invariant, by resource type; cheap
 * (a resource of another type costs one lookup).
 */
const RULES: Record<string, (resource: Record<string, unknown>, path: string) => OperationOutcomeIssue[]> = {
  CapabilityStatement: capabilityIssues,
  CodeSystem: codeSystemIssues,
};

export function resourceRuleIssues(resource: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  return RULES[resource.resourceType as string]?.(resource, path) ?? [];
}

/**
 * R4 CodeSystem.count is "the total number of concepts defined by the code system": when the
 * resource holds them all (`content` complete), that is the number of its concepts, nested ones
 * included.
 */
function codeSystemIssues(cs: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  if (cs.content !== 'complete' || typeof cs.count !== 'number') return [];
  const n = countConcepts(cs.concept);
  if (n === cs.count) return [];
  return [
    {
      severity: 'error',
      code: 'business-rule',
      diagnostics: `The code system is complete with ${n} concepts, but its count says ${cs.count}`,
      expression: [`${path}.count`],
    },
  ];
}

function countConcepts(concepts: unknown): number {
  if (!Array.isArray(concepts)) return 0;
  return concepts.reduce<number>((n, c) => n + 1 + countConcepts((c as { concept?: unknown })?.concept), 0);
}
