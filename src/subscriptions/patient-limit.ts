import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import { reach } from '../security/principal.js';
import { splitCriteria } from './criteria.js';

/**
 * Events are matched as the server (src/subscriptions/outbox.ts), not with the subscriber's token. A token
 * that searches the criteria's type only within its patient's compartment (a SMART `patient/` scope) may
 * therefore subscribe only to criteria that cannot match beyond that patient: one `patient` parameter,
 * without modifier, whose single value is its own patient. The other parameters are AND-ed with it (R4
 * §search), so they only narrow what it matches. Anything else is 403: the criteria are a valid search,
 * just not one this token may be told about.
 */
export function checkPatientLimit(writer: Services, criteria: string): void {
  const p = writer.principal;
  if (!p) return;
  const { type, query } = splitCriteria(criteria);
  const r = reach(p, type, 's');
  if (r !== 'compartment') {
    // 'all' passes; 'none' is refused by the caller's search check, with its own message
    writer.access.authorize(writer, [{ type, action: 's', whole: true }]);
    return;
  }
  const own = new Set([`Patient/${p.patient}`, p.patient]);
  const compartment = writer.defs.compartments.get('Patient')?.members.get(type) ?? [];
  const limited =
    compartment.includes('patient') && query.some(([name, value]) => name === 'patient' && own.has(value));
  if (!limited)
    throw new FhirError('forbidden', {
      message:
        `A patient-scoped token may subscribe to ${type} of its own patient only: ` +
        `the criteria need patient=Patient/${p.patient}`,
      expression: 'Subscription.criteria',
    });
}
