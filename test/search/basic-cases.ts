/**
 * Search cases as data: the resources, then one row per query with the ids it must return (in any
 * order unless `ordered`). Kept apart from the test so cases can be read and added without code.
 */
export const RESOURCES = [
  {
    resourceType: 'Patient',
    id: 'p-soren',
    name: [{ family: 'Sørensen', given: ['Åse', 'Marit'] }],
    gender: 'female',
    birthDate: '1970-03-15',
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '15037012340' }],
    address: [{ city: 'Tromsø', postalCode: '9008' }],
    active: true,
  },
  {
    resourceType: 'Patient',
    id: 'p-aeroe',
    name: [{ family: 'Ærø', given: ['Bjørn'] }],
    gender: 'male',
    birthDate: '1985',
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.2', value: '55038512357' }],
    address: [{ city: 'Bergen' }],
  },
  {
    resourceType: 'Patient',
    id: 'p-sorli',
    name: [{ family: 'Sorli', given: ['Ola'] }],
    gender: 'male',
    birthDate: '1970-03-16',
    identifier: [{ value: '01010112345' }],
    active: false,
  },
  {
    resourceType: 'Patient',
    id: 'p-none',
    gender: 'unknown',
    meta: {
      tag: [{ system: 'http://forlop.no/fhir/CodeSystem/tag', code: 'demo' }],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      profile: ['http://hl7.no/fhir/StructureDefinition/no-basis-Patient'],
      source: 'urn:forlop:ehr-a',
    },
  },
  {
    resourceType: 'Observation',
    id: 'o-1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }], text: 'Vekt' },
    subject: { reference: 'Patient/p-soren' },
    valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    effectivePeriod: { start: '2026-01-10T08:00:00Z', end: '2026-01-10T09:00:00Z' },
  },
  {
    resourceType: 'Observation',
    id: 'o-2',
    status: 'preliminary',
    code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body height' }] },
    subject: { reference: 'Patient/p-sorli' },
    valueQuantity: { value: 180, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
    effectiveDateTime: '2026-02-01T10:30:00+01:00',
  },
  {
    resourceType: 'RiskAssessment',
    id: 'r-1',
    status: 'final',
    subject: { reference: 'Patient/p-soren' },
    prediction: [{ probabilityDecimal: 0.25 }],
  },
  {
    resourceType: 'RiskAssessment',
    id: 'r-2',
    status: 'final',
    subject: { reference: 'Patient/p-aeroe' },
    prediction: [{ probabilityDecimal: 0.7 }],
  },
  { resourceType: 'ValueSet', id: 'vs-1', status: 'active', url: 'http://forlop.no/fhir/ValueSet/pathway/d11' },
  { resourceType: 'ValueSet', id: 'vs-2', status: 'active', url: 'http://forlop.no/fhir/ValueSet/pathway/d12' },
  { resourceType: 'ValueSet', id: 'vs-3', status: 'draft', url: 'http://example.org/other' },
] as const;

export interface Case {
  query: string;
  ids: string[];
  ordered?: boolean;
}

export const CASES: Record<string, Case[]> = {
  string: [
    { query: 'Patient?family=sørensen', ids: ['p-soren'] },
    { query: 'Patient?family=SORENSEN', ids: ['p-soren'] },
    { query: 'Patient?family=sor', ids: ['p-soren', 'p-sorli'] },
    { query: 'Patient?family=aero', ids: ['p-aeroe'] },
    { query: 'Patient?family=Ærø', ids: ['p-aeroe'] },
    { query: 'Patient?given=ase', ids: ['p-soren'] },
    { query: 'Patient?name=bjørn', ids: ['p-aeroe'] },
    { query: 'Patient?family:exact=Sørensen', ids: ['p-soren'] },
    { query: 'Patient?family:exact=sørensen', ids: [] },
    { query: 'Patient?family:contains=rens', ids: ['p-soren'] },
    { query: 'Patient?address-city=tromso', ids: ['p-soren'] },
    { query: 'Patient?family=sorli,aero', ids: ['p-sorli', 'p-aeroe'] },
    { query: 'Patient?family=sor&given=ola', ids: ['p-sorli'] },
    { query: 'Patient?family:missing=true', ids: ['p-none'] },
    { query: 'Patient?family:missing=false', ids: ['p-soren', 'p-aeroe', 'p-sorli'] },
  ],
  token: [
    { query: 'Patient?gender=male', ids: ['p-aeroe', 'p-sorli'] },
    { query: 'Patient?gender:not=male', ids: ['p-soren', 'p-none'] },
    { query: 'Patient?identifier=15037012340', ids: ['p-soren'] },
    { query: 'Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.2|55038512357', ids: ['p-aeroe'] },
    { query: 'Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|55038512357', ids: [] },
    { query: 'Patient?identifier=|01010112345', ids: ['p-sorli'] },
    { query: 'Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|', ids: ['p-soren'] },
    { query: 'Patient?active=true', ids: ['p-soren'] },
    { query: 'Observation?code=http://loinc.org|29463-7', ids: ['o-1'] },
    { query: 'Observation?code=29463-7,8302-2', ids: ['o-1', 'o-2'] },
    { query: 'Observation?code:text=vekt', ids: ['o-1'] },
    { query: 'Observation?code:text=body h', ids: ['o-2'] },
    { query: 'Patient?_id=p-soren,p-none', ids: ['p-soren', 'p-none'] },
    { query: 'Patient?_tag=http://forlop.no/fhir/CodeSystem/tag|demo', ids: ['p-none'] },
    { query: 'Patient?_tag:not=demo', ids: ['p-soren', 'p-aeroe', 'p-sorli'] },
    { query: 'Patient?_security=R', ids: ['p-none'] },
    { query: 'Patient?_profile=http://hl7.no/fhir/StructureDefinition/no-basis-Patient', ids: ['p-none'] },
    { query: 'Patient?_source=urn:forlop:ehr-a', ids: ['p-none'] },
    { query: 'Patient?_lastUpdated=2026-10-01', ids: ['p-soren', 'p-aeroe', 'p-sorli', 'p-none'] },
    { query: 'Patient?_lastUpdated=gt2026-10-02', ids: [] },
  ],
  date: [
    { query: 'Patient?birthdate=1970-03-15', ids: ['p-soren'] },
    { query: 'Patient?birthdate=1970-03', ids: ['p-soren', 'p-sorli'] },
    { query: 'Patient?birthdate=1985', ids: ['p-aeroe'] },
    // 1985 (a year) is not within one day
    { query: 'Patient?birthdate=1985-06-01', ids: [] },
    { query: 'Patient?birthdate=ne1970-03-15', ids: ['p-aeroe', 'p-sorli'] },
    { query: 'Patient?birthdate=lt1970-03-16', ids: ['p-soren'] },
    { query: 'Patient?birthdate=gt1970-03-15', ids: ['p-aeroe', 'p-sorli'] },
    { query: 'Patient?birthdate=ge1970-03-16', ids: ['p-aeroe', 'p-sorli'] },
    { query: 'Patient?birthdate=le1970-03-15', ids: ['p-soren'] },
    { query: 'Patient?birthdate=sa1980-01-01', ids: ['p-aeroe'] },
    { query: 'Patient?birthdate=eb1971', ids: ['p-soren', 'p-sorli'] },
    // 10:30+01:00 is 09:30Z
    { query: 'Patient?birthdate=ge1970-01-01&birthdate=lt1980-01-01', ids: ['p-soren', 'p-sorli'] },
    { query: 'Observation?date=2026-01-10', ids: ['o-1'] },
    { query: 'Observation?date=ge2026-01-10T08:30:00Z', ids: ['o-1', 'o-2'] },
    { query: 'Observation?date=lt2026-01-10T08:30:00Z', ids: ['o-1'] },
    // a dateTime with seconds and an offset is an instant: equal to the same instant in UTC
    { query: 'Observation?date=2026-02-01T09:30:00Z', ids: ['o-2'] },
    { query: 'Observation?date=2026-02-01', ids: ['o-2'] },
  ],
  reference: [
    { query: 'Observation?subject=Patient/p-soren', ids: ['o-1'] },
    { query: 'Observation?subject=p-sorli', ids: ['o-2'] },
    { query: 'Observation?subject:Patient=p-sorli', ids: ['o-2'] },
    { query: 'Observation?subject=http://forlop.test/fhir/Patient/p-soren', ids: ['o-1'] },
    { query: 'Observation?patient=Patient/p-soren,Patient/p-sorli', ids: ['o-1', 'o-2'] },
  ],
  number: [
    { query: 'RiskAssessment?probability=0.25', ids: ['r-1'] },
    { query: 'RiskAssessment?probability=gt0.5', ids: ['r-2'] },
    { query: 'RiskAssessment?probability=lt0.5', ids: ['r-1'] },
    // 0.3 means [0.25, 0.35): 0.25 is in it
    { query: 'RiskAssessment?probability=0.3', ids: ['r-1'] },
    { query: 'RiskAssessment?probability=ge0.7', ids: ['r-2'] },
    // comparisons use the exact value, not the implicit precision range: 0.25 < 0.3
    { query: 'RiskAssessment?probability=lt0.3', ids: ['r-1'] },
    { query: 'RiskAssessment?probability=gt0.2', ids: ['r-1', 'r-2'] },
  ],
  quantity: [
    { query: 'Observation?value-quantity=72.5', ids: ['o-1'] },
    { query: 'Observation?value-quantity=gt100', ids: ['o-2'] },
    { query: 'Observation?value-quantity=gt50|http://unitsofmeasure.org|kg', ids: ['o-1'] },
    { query: 'Observation?value-quantity=gt50||cm', ids: ['o-2'] },
  ],
  uri: [
    { query: 'ValueSet?url=http://forlop.no/fhir/ValueSet/pathway/d11', ids: ['vs-1'] },
    { query: 'ValueSet?url:below=http://forlop.no/fhir/ValueSet/pathway', ids: ['vs-1', 'vs-2'] },
    { query: 'ValueSet?url:above=http://forlop.no/fhir/ValueSet/pathway/d12/version/2', ids: ['vs-2'] },
  ],
  'sort and paging': [
    // normalised: aero < sorensen < sorli
    { query: 'Patient?_sort=family&family:missing=false', ids: ['p-aeroe', 'p-soren', 'p-sorli'], ordered: true },
    { query: 'Patient?_sort=-family&family:missing=false', ids: ['p-sorli', 'p-soren', 'p-aeroe'], ordered: true },
    { query: 'Patient?_sort=-birthdate&birthdate=ge1900', ids: ['p-aeroe', 'p-sorli', 'p-soren'], ordered: true },
    { query: 'Patient?_sort=_id&_count=2', ids: ['p-aeroe', 'p-none'], ordered: true },
    { query: 'Patient?_sort=_id&_count=2&_offset=2', ids: ['p-soren', 'p-sorli'], ordered: true },
    // without a family, p-none sorts last in both directions, on both backends
    { query: 'Patient?_sort=family', ids: ['p-aeroe', 'p-soren', 'p-sorli', 'p-none'], ordered: true },
    { query: 'Patient?_sort=-family', ids: ['p-sorli', 'p-soren', 'p-aeroe', 'p-none'], ordered: true },
    { query: 'Patient?_sort=-birthdate,_id', ids: ['p-aeroe', 'p-sorli', 'p-soren', 'p-none'], ordered: true },
    { query: 'Patient?_sort=gender,-_id', ids: ['p-soren', 'p-sorli', 'p-aeroe', 'p-none'], ordered: true },
  ],
};

/** Date ranges: a lower and an upper bound on one parameter mean one value inside the range. */
export const RANGE_RESOURCES = [
  {
    resourceType: 'Task',
    id: 'tr-point',
    status: 'requested',
    intent: 'order',
    restriction: { period: { end: '2026-03-10T12:00:00Z' } },
  },
  {
    resourceType: 'Task',
    id: 'tr-day',
    status: 'requested',
    intent: 'order',
    restriction: { period: { end: '2026-03-11' } },
  },
  {
    resourceType: 'Task',
    id: 'tr-month',
    status: 'requested',
    intent: 'order',
    restriction: { period: { end: '2026-03' } },
  },
  {
    resourceType: 'Task',
    id: 'tr-year',
    status: 'requested',
    intent: 'order',
    restriction: { period: { end: '2025' } },
  },
  {
    resourceType: 'CarePlan',
    id: 'cr-open',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/x' },
    period: { start: '2020-01-01' },
  },
  {
    resourceType: 'CarePlan',
    id: 'cr-closed',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/x' },
    period: { start: '2026-02-01', end: '2026-02-28' },
  },
];

export const RANGE_CASES: Case[] = [
  // the month value [Mar 1, Mar 31] overlaps any range in March: ge compares its end, lt its start
  { query: 'Task?due=ge2026-03-10&due=lt2026-03-11', ids: ['tr-point', 'tr-month'] },
  { query: 'Task?due=ge2026-03-10&due=le2026-03-11', ids: ['tr-point', 'tr-day', 'tr-month'] },
  { query: 'Task?due=ge2026-03-05&due=lt2026-03-06', ids: ['tr-month'] },
  { query: 'Task?due=ge2026-03-15&due=le2026-03-31', ids: ['tr-month'] },
  { query: 'Task?due=ge2025-06-01&due=lt2025-07-01', ids: ['tr-year'] },
  // gt a day means after the whole day: 12:00 that day is not
  { query: 'Task?due=gt2026-03-10&due=lt2026-04-01', ids: ['tr-day', 'tr-month'] },
  { query: 'Task?due=sa2026-03-10&due=eb2026-04-01', ids: ['tr-day'] },
  { query: 'Task?due=ge2027-01-01&due=lt2028-01-01', ids: [] },
  // an open period (no end) overlaps every later range; a closed one only its own
  { query: 'CarePlan?date=ge2026-02-10&date=lt2026-02-11', ids: ['cr-open', 'cr-closed'] },
  { query: 'CarePlan?date=ge2026-05-01&date=lt2026-06-01', ids: ['cr-open'] },
  { query: 'CarePlan?date=ge2019-01-01&date=lt2019-12-31', ids: [] },
  // descending sorts by the latest end: the month (to Mar 31) first
  { query: 'Task?_sort=-due&due=ge2000', ids: ['tr-month', 'tr-day', 'tr-point', 'tr-year'], ordered: true },
];
