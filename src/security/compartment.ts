import type { Criterion } from '../fhir/search/params.js';
import type { Services } from '../fhir/services.js';
import type { SqlExecutor } from '../storage/types.js';

/**
 * The Patient compartment (R4 CompartmentDefinition/patient) as the limit of a `patient/` scope: a
 * resource is the patient's when one of its compartment reference parameters points at the patient
 * (the Patient resource itself: by its id, or a `link`). Types outside the compartment are shared
 * reference data (Practitioner, Organization, PlanDefinition, CodeSystem …).
 */
export function compartmentParams(svc: Services, type: string): string[] | undefined {
  return svc.defs.compartments.get('Patient')?.members.get(type);
}

/** The search criterion that keeps a search inside the patient's compartment. */
export function compartmentCriterion(svc: Services, type: string, patient: string): Criterion | undefined {
  if (type === 'Patient') return { code: '_id', type: 'token', values: [patient], implicit: true };
  const params = compartmentParams(svc, type);
  return params
    ? {
        code: '_compartment',
        type: 'special',
        values: [],
        compartment: { params, targetType: 'Patient', id: patient },
        implicit: true,
      }
    : undefined;
}

/** Whether the stored resource `rid` (of `type`, with `id`) is in the patient's compartment. */
export async function inCompartment(
  svc: Services,
  db: SqlExecutor,
  type: string,
  id: string,
  rid: number,
  patient: string,
): Promise<boolean> {
  if (type === 'Patient' && id === patient) return true;
  const params = compartmentParams(svc, type);
  if (!params) return false;
  return svc.store.refersTo(db, type, rid, params, `Patient/${patient}`);
}
