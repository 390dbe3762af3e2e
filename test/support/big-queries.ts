/**
 * Data and queries for the big-query tests (test/search/big-queries.test.ts): 50 patients with values
 * of every parameter type, each value its own, and lists of OR-ed values that name some of them
 * among many that match nothing.
 */
export const N = 50;
const pad = (i: number) => String(i).padStart(3, '0');
export const ID_SYSTEM = 'http://forlop.test/id';
export const LOINC = 'http://loinc.org';
export const WIDE_CS = 'http://forlop.test/CodeSystem/wide';

export function patients() {
  return Array.from({ length: N }, (_, i) => ({
    resourceType: 'Patient',
    id: `bq-${i}`,
    identifier: [{ system: ID_SYSTEM, value: `bq-id-${i}` }],
    name: [{ family: `Navn${pad(i)}` }],
    birthDate: `${1950 + i}-06-15`,
    generalPractitioner: [{ reference: `Practitioner/bq-gp-${i}` }],
    // bq-2 → bq-1 → bq-0 (`link` may also point at a RelatedPerson, which has no `link` of its own)
    ...(i === 1 || i === 2 ? { link: [{ other: { reference: `Patient/bq-${i - 1}` }, type: 'seealso' }] } : {}),
  }));
}

export function practitioners() {
  return Array.from({ length: N }, (_, i) => ({
    resourceType: 'Practitioner',
    id: `bq-gp-${i}`,
    name: [{ family: `Lege${pad(i)}` }],
  }));
}

/** Observations with a code and a value (composite code-value-quantity), two coded from WIDE_CS. */
export function observations() {
  const measured = Array.from({ length: 20 }, (_, i) => ({
    resourceType: 'Observation',
    id: `bq-obs-${i}`,
    status: 'final',
    code: { coding: [{ system: LOINC, code: `bq-${i}` }] },
    valueQuantity: { value: i, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
  }));
  const wide = [10, 599].map((n) => ({
    resourceType: 'Observation',
    id: `bq-wide-${n}`,
    status: 'final',
    code: { coding: [{ system: WIDE_CS, code: `c${n}` }] },
  }));
  return [...measured, ...wide];
}

/** bq-org-0 ← bq-org-1 ← … ← bq-org-9 (each part of the one before). */
export function organizations() {
  return Array.from({ length: 10 }, (_, i) => ({
    resourceType: 'Organization',
    id: `bq-org-${i}`,
    name: i === 0 ? 'Rot' : `Ledd ${i}`,
    ...(i > 0 ? { partOf: { reference: `Organization/bq-org-${i - 1}` } } : {}),
  }));
}

/** A code system of 600 codes and the value set of all of them (a `:in` of 600 codes). */
export function wideTerminology() {
  const cs = {
    resourceType: 'CodeSystem',
    id: 'bq-wide',
    url: WIDE_CS,
    name: 'Wide',
    status: 'active',
    content: 'complete',
    concept: Array.from({ length: 600 }, (_, i) => ({ code: `c${i}` })),
  };
  const vs = {
    resourceType: 'ValueSet',
    id: 'bq-wide',
    url: 'http://forlop.test/ValueSet/wide',
    name: 'Wide',
    status: 'active',
    compose: { include: [{ system: WIDE_CS }] },
  };
  return [cs, vs];
}

/**
 * `count` OR-ed values: `value(i)` for the indexes in `hits`, and values that match nothing for the
 * rest, the hits spread among them.
 */
export function orList(
  count: number,
  hits: number[],
  value: (i: number) => string,
  miss: (j: number) => string,
): string {
  const out: string[] = [];
  const step = Math.floor(count / Math.max(hits.length, 1));
  let h = 0;
  for (let j = 0; j < count; j++) {
    out.push(h < hits.length && j % step === 0 ? value(hits[h++]) : miss(j));
  }
  return out.join(',');
}

/** The even numbers below N: the patients (and observations) a list names. */
export const EVEN = (below = N) => Array.from({ length: Math.ceil(below / 2) }, (_, i) => i * 2);

/** A chain of `links` typed `partof` links ending in `name`. */
export const partofChain = (links: number) => `${'partof:Organization.'.repeat(links)}name`;
