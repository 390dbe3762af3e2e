/**
 * SMART App Launch scopes (v2, with the v1 forms): `patient/Observation.rs`, `user/CarePlan.cru`,
 * `system/*.rs`, `patient/*.read`, `user/*.write`, `system/*.*`. A scope with a query (`?category=…`,
 * SMART v2 granular scopes) narrows access in ways this server does not evaluate, so it grants nothing
 * — refusing is the safe reading. Non-resource scopes (openid, fhirUser, launch/patient …) grant nothing.
 */
import type { Action } from '../fhir/ports.js';

export type { Action };
export type ScopeContext = 'patient' | 'user' | 'system';

export interface Grant {
  context: ScopeContext;
  /** A resource type, or `*` for all. */
  type: string;
  actions: ReadonlySet<Action>;
}

const V1: Record<string, Action[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)$/;

/** One scope's grant, or undefined when it grants no resource access (or is malformed). */
export function parseScope(scope: string): Grant | undefined {
  const m = SCOPE.exec(scope);
  if (!m) return undefined;
  const [, context, type, perms] = m;
  const v1 = V1[perms];
  if (v1) return { context: context as ScopeContext, type, actions: new Set(v1) };
  // v2: a non-empty subsequence of c r u d s, in that order (SMART v2 §scopes)
  if (!/^c?r?u?d?s?$/.test(perms) || !perms) return undefined;
  return { context: context as ScopeContext, type, actions: new Set(perms.split('') as Action[]) };
}

export function parseScopes(scope: string | undefined): Grant[] {
  return (scope ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map(parseScope)
    .filter((g): g is Grant => g !== undefined);
}
