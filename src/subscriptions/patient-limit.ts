import type { Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import { reach } from '../security/principal.js';
import { splitCriteria } from './criteria.js';
import { topicCriteria, topicOf } from './topics.js';

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
  const { type } = splitCriteria(criteria);
  const r = reach(p, type, 's');
  if (r !== 'compartment') {
    // 'all' passes; 'none' is refused by the caller's search check, with its own message
    writer.access.authorize(writer, [{ type, action: 's', whole: true }]);
    return;
  }
  if (!limitedToPatient(writer, p.patient as string, criteria))
    throw new FhirError('forbidden', {
      message:
        `A patient-scoped token may subscribe to ${type} of its own patient only: ` +
        `the criteria need patient=Patient/${p.patient}`,
      expression: 'Subscription.criteria',
    });
}

/** Whether criteria can match only resources of `patient`'s compartment (a single `patient` value: its own). */
export function limitedToPatient(svc: Services, patient: string, criteria: string): boolean {
  const { type, query } = splitCriteria(criteria);
  const own = new Set([`Patient/${patient}`, patient]);
  const compartment = svc.defs.compartments.get('Patient')?.members.get(type) ?? [];
  return compartment.includes('patient') && query.some(([name, value]) => name === 'patient' && own.has(value));
}

/**
 * Whether a stored Subscription is limited to `patient`: its criteria, or its topic's search with the
 * subscriber's filters. Such a Subscription is that patient's own, which a `patient/` scope may read,
 * write and bind to (src/security/subscription-access.ts).
 */
export function subscriptionOfPatient(svc: Services, sub: Subscription, patient: string): boolean {
  const topic = topicOf(sub);
  let criteria: string;
  try {
    criteria = topic ? topicCriteria(topic, sub) : (sub.criteria ?? '');
  } catch {
    return false; // filters the topic does not take: refused when it is written anyway
  }
  return limitedToPatient(svc, patient, criteria);
}
