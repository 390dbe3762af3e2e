import type { Patient } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { findMatches } from '../fhir/search/execute.js';
import type { Services, WriteEvent, WriteReaction } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { NO_SYSTEMS } from '../validation/norwegian.js';

/** The national person numbers that name one person for life: a second Patient with one would be a second person. */
const PERSON_NUMBERS: Record<string, string> = { [NO_SYSTEMS.FNR]: 'fødselsnummer', [NO_SYSTEMS.DNR]: 'D-nummer' };

/**
 * One person, one Patient: NPR counts pathways per person (224: one open pathway), so a duplicate
 * Patient would let a second pathway slip past it. A Patient whose fødselsnummer or D-nummer another
 * Patient already has is refused (409, naming it); a conditional create by identifier
 * (`If-None-Exist: identifier=…`) finds the one there is. Each number is locked while it is checked,
 * so two concurrent creates cannot both see it free.
 */
async function checkUnique(svc: Services, tx: Tx, event: WriteEvent): Promise<void> {
  const patient = event.after as Patient | undefined;
  const known = new Set((event.before as Patient | undefined)?.identifier?.map((i) => `${i.system}|${i.value}`));
  for (const [i, id] of (patient?.identifier ?? []).entries()) {
    const what = PERSON_NUMBERS[id.system ?? ''];
    const key = `${id.system}|${id.value}`;
    if (!what || !id.value || known.has(key)) continue;
    await tx.lock(`person:${key}`);
    const other = (await findMatches(svc, 'Patient', `identifier=${encodeURIComponent(key)}`, tx)).find(
      (r) => r.id !== event.id,
    );
    if (!other) continue;
    throw new FhirError('conflict', {
      message: `Patient/${other.id} already has this ${what}: one person is one Patient (update it, or create with If-None-Exist: identifier=${key})`,
      code: 'duplicate',
      expression: `Patient.identifier[${i}].value`,
    });
  }
}

/** A Patient that pathways refer to is not deleted (409), as HAPI FHIR refuses deleting what is referenced. */
async function checkUnreferenced(svc: Services, tx: Tx, event: WriteEvent): Promise<void> {
  for (const [type, param] of [
    ['EpisodeOfCare', 'patient'],
    ['CarePlan', 'subject'],
  ] as const) {
    const [ref] = await findMatches(svc, type, `${param}=Patient/${event.id}`, tx);
    if (!ref) continue;
    throw new FhirError('conflict', {
      message: `Patient/${event.id} has pathways (${type}/${ref.id} refers to it): it cannot be deleted`,
      code: 'conflict',
      expression: 'Patient',
    });
  }
}

export const personIdentity: WriteReaction = {
  type: 'Patient',
  async check(svc, tx, event) {
    if (event.after) await checkUnique(svc, tx, event);
    else await checkUnreferenced(svc, tx, event);
  },
};
