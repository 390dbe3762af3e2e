import { FhirError } from '../../errors.js';
import type { Action } from '../../ports.js';
import type { Services } from '../../services.js';
import type { EverythingInput } from './input.js';
import { REFERENCED, type Scope } from '../../search/everything.js';

/** Whether the caller's token grants `action` on `type` (the access port refuses by throwing). */
function reaches(svc: Services, type: string, action: Action): boolean {
  try {
    svc.access.authorize(svc, [{ type, action }]);
    return true;
  } catch (err) {
    if (err instanceof FhirError) return false;
    throw err;
  }
}

/**
 * The types to read: the Patient compartment's members (R4 CompartmentDefinition/patient, the same
 * data the compartment search uses), the Patient itself and the referenced shared types — each only
 * when `_type` names it (if given) and the caller may search it. A type the token does not reach is
 * left out rather than refused: $everything is "everything the caller may see" of the record.
 */
export function everythingScope(svc: Services, input: EverythingInput): Scope {
  const wanted = (type: string) => !input.types || input.types.has(type);
  const compartment = svc.defs.compartments.get('Patient');
  if (!compartment) throw new FhirError('not-found', 'There is no Patient compartment');
  const members = new Map<string, string[]>();
  for (const [type, params] of compartment.members) {
    if (type !== 'Patient' && wanted(type) && reaches(svc, type, 's')) members.set(type, params);
  }
  return {
    members,
    patient: wanted('Patient'),
    referenced: REFERENCED.filter((t) => wanted(t) && reaches(svc, t, 'r')),
    provenance: wanted('Provenance') && reaches(svc, 'Provenance', 's'),
  };
}
