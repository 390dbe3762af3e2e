import type { Subscription } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import type { VersionRow } from '../fhir/store.js';
import { subscriptionOfPatient } from '../subscriptions/patient-limit.js';

/**
 * A Subscription is outside the Patient compartment, but one whose criteria (or topic filter) can match
 * only one patient's resources is that patient's own (src/subscriptions/patient-limit.ts): a `patient/`
 * scope may read, write, bind to and delete it as it would a resource in its patient's compartment.
 * Any other Subscription stays out of its reach.
 */
export function isOwnSubscription(svc: Services, row: VersionRow, patient: string): boolean {
  if (row.type !== 'Subscription' || !row.content) return false;
  return subscriptionOfPatient(svc, JSON.parse(row.content) as Subscription, patient);
}
