import { fnrFor } from '../test/support/norwegian-ids.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';

/**
 * A synthetic patient with a fødselsnummer of its own: the server keeps one Patient per person
 * (a second with the same number is refused with 409), so a load of creates needs a new person each.
 */
export function benchPatient(i: number) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: FNR, value: fnrFor(i) }],
    name: [{ family: `Nordmann${i % 1000}`, given: ['Kari', 'Åse'] }],
    gender: i % 2 ? 'female' : 'male',
    birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
    address: [{ city: 'Bergen', postalCode: '5003' }],
  };
}

/** Numbers for new patients, from `first` on: each call `take(k)` hands out the next k. */
export class PersonNumbers {
  constructor(private next: number) {}
  take(k = 1): number {
    const n = this.next;
    this.next += k;
    return n;
  }
}

/** A transaction Bundle creating `size` new patients, numbered from `first`. */
export function patientBundle(first: number, size: number): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: size }, (_, i) => ({
      resource: benchPatient(first + i),
      request: { method: 'POST', url: 'Patient' },
    })),
  });
}
