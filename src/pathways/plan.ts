import type { Coding, Extension, PlanDefinition, PlanDefinitionAction } from '@medplum/fhirtypes';

export const TIME_LIMIT = 'http://forlop.no/fhir/StructureDefinition/pathway-time-limit';
export const EVENT_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9322';
export const PATHWAY_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9321';
/** NPR's feedback and validation codes (Volven 9329): what the registry answers about a code. */
export const NPR_FEEDBACK = 'urn:oid:2.16.578.1.12.4.1.1.9329';
/** Roles in a pathway's CareTeam: the patient, and the coordinators in specialist care and in the municipality. */
export const CARE_TEAM_ROLE = 'http://forlop.no/fhir/CodeSystem/care-team-role';
/** A milestone Task's identifier: `[CarePlan id]/[action id]`, so the Task of an action is found by search. */
export const PATHWAY_ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action';
/** On the CarePlan: what the time limits' conditions read (%setting, %severity). */
export const PATHWAY_CONTEXT = 'http://forlop.no/fhir/StructureDefinition/pathway-context';

/** One time limit of a milestone, as the PlanDefinition states it (the `pathway-time-limit` extension). */
export interface TimeLimit {
  /** The action whose date it counts from; the action itself for a repeating milestone (evaluations). */
  from: string;
  /** FHIRPath over %setting and %severity: when this limit applies (always when absent). */
  condition?: string;
  /** FHIRPath giving the due date, with %from. */
  rule: string;
  status: 'verified' | 'national-policy';
}

function sub(ext: Extension, url: string): Extension | undefined {
  return ext.extension?.find((e) => e.url === url);
}

export function timeLimits(action: PlanDefinitionAction): TimeLimit[] {
  return (action.extension ?? [])
    .filter((e) => e.url === TIME_LIMIT)
    .map((e) => ({
      from: sub(e, 'from')?.valueId as string,
      condition: sub(e, 'condition')?.valueExpression?.expression,
      rule: sub(e, 'rule')?.valueExpression?.expression as string,
      status: sub(e, 'status')?.valueCode as TimeLimit['status'],
    }));
}

/** The 9322 event code of a milestone action (none for the care actions). */
export function eventCode(action: PlanDefinitionAction): string | undefined {
  return action.code?.flatMap((c) => c.coding ?? []).find((c) => c.system === EVENT_SYSTEM)?.code;
}

/** The value set a milestone's outcome (the coded `Task.output.value`) must come from, if the action has outcomes. */
export function outcomeValueSet(action: PlanDefinitionAction): string | undefined {
  return action.output?.flatMap((o) => o.codeFilter ?? []).find((f) => f.path === 'output.value')?.valueSet;
}

/** The pathway's 9321 type code (D01, D06 …). */
export function pathwayCode(plan: PlanDefinition): string | undefined {
  return plan.topic?.flatMap((t) => t.coding ?? []).find((c) => c.system === PATHWAY_SYSTEM)?.code;
}

export const NPR_RULE = 'http://forlop.no/fhir/StructureDefinition/npr-rule';

/** An NPR registration rule of a pathway (the `npr-rule` extension): FHIRPath that must hold. */
export interface NprRule {
  code: Coding;
  when: 'apply' | 'complete';
  expression: string;
}

export function nprRules(plan: PlanDefinition, when: NprRule['when']): NprRule[] {
  return (plan.extension ?? [])
    .filter((e) => e.url === NPR_RULE)
    .map((e) => ({
      code: sub(e, 'code')?.valueCoding as Coding,
      when: sub(e, 'when')?.valueCode as NprRule['when'],
      expression: sub(e, 'expression')?.valueExpression?.expression as string,
    }))
    .filter((r) => r.when === when);
}
