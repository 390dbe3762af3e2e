import type { Patient } from '@medplum/fhirtypes';
import { NO_SYSTEMS, readPersonNumber } from '../validation/norwegian.js';

/** Whole years from a birth date to a date. */
function yearsBetween(birthDate: string, on: string): number {
  const years = Number(on.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return on.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

/**
 * A patient's age on a date, for NPR's age rules (216: D12 is for children and youth): from
 * `birthDate`, or else from the date a fødselsnummer or D-nummer carries (synthetic ones too). An
 * H-nummer carries no real date: then the age is unknown, and `unknownWhy` says why.
 */
export function ageOf(patient: Patient, on: string): { age?: number; unknownWhy?: string } {
  if (patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate))
    return { age: yearsBetween(patient.birthDate, on) };
  const systems: string[] = [NO_SYSTEMS.FNR, NO_SYSTEMS.DNR];
  for (const id of patient.identifier ?? []) {
    if (!systems.includes(id.system ?? '') || !id.value) continue;
    const read = readPersonNumber(id.value);
    if (read.valid && read.birthDate) return { age: yearsBetween(read.birthDate, on) };
  }
  return {
    unknownWhy:
      'Pasienten har verken fødselsdato eller et fødselsnummer/D-nummer å lese alderen fra (et H-nummer har ingen)',
  };
}
