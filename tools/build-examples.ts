/**
 * Builds `examples/journey-*.json`: one complete synthetic patient journey per pathway, as a
 * transaction Bundle. Each journey is lived through the real server (in process, on a temporary
 * embedded database, with a clock moved from step to step): `$apply`, milestones completed over
 * HTTP on their dates, the scheduled deadline evaluation run each step. The resulting resources are
 * exported with readable ids, in an order that loads again through the same rules. Among them: a
 * transfer (D11 → D06), an ØH start (D01), a patient-postponed pathway (D07) and a breach (D08).
 * Then `npr-report-2026-03.json`: the registry report of March 2026 for the example trust.
 *
 * Run it when the pathways change: `npx tsx tools/build-examples.ts`. All persons are synthetic
 * (fødselsnummer with month + 80); the organisation and practitioners are made up, with ids of their
 * own (`Organization/eksempel-hf`, `Practitioner/koordinator`, `Practitioner/behandler`: SHARED) so
 * the README's examples can name them in the demo.
 */
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, BundleEntry, CarePlan, Parameters, Resource, Task } from '@medplum/fhirtypes';
import { EXAMPLES_DIR } from '../src/fhir/example-loader.js';
import { organisationNumber, personNumber } from '../test/support/norwegian-ids.js';
import { startInProcess } from '../test/support/in-process.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const ENH = 'urn:oid:2.16.578.1.12.4.1.4.101';
const RESH = 'urn:oid:2.16.578.1.12.4.1.4.102';
const ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action';
const OUTCOME = (list: string) => `urn:oid:2.16.578.1.12.4.1.1.${list}`;

const ORGANIZATION = {
  resourceType: 'Organization',
  active: true,
  name: 'Eksempel HF, Klinikk psykisk helse og rus',
  identifier: [
    { system: ENH, value: organisationNumber('99887766') },
    { system: RESH, value: '4209999' },
  ],
};
const PRACTITIONERS = [
  {
    resourceType: 'Practitioner',
    active: true,
    name: [{ family: 'Koordinatorsen', given: ['Kari'] }],
    identifier: [{ system: HPR, value: '9900123' }],
  },
  {
    resourceType: 'Practitioner',
    active: true,
    name: [{ family: 'Behandlersen', given: ['Per'] }],
    identifier: [{ system: HPR, value: '9900456' }],
  },
];
/** The organisation and practitioners every journey shares, with the ids they have in the demo. */
const SHARED = [
  { ...ORGANIZATION, id: 'eksempel-hf' },
  { ...PRACTITIONERS[0], id: 'koordinator' },
  { ...PRACTITIONERS[1], id: 'behandler' },
] as (Resource & { id: string; identifier: { system: string; value: string }[] })[];

/** `$apply`'s input as a Parameters body (the operation is POST-only), each value in its declared type. */
function applyParameters(params: Record<string, string>): Parameters {
  const valueOf = (name: string, value: string) => {
    if (name === 'start') return { valueDate: value };
    if (name === 'emergency') return { valueBoolean: value === 'true' };
    if (name === 'setting' || name === 'severity') return { valueCode: value };
    return { valueString: value };
  };
  const parameter = Object.entries(params).map(([name, value]) => ({ name, ...valueOf(name, value) }));
  return { resourceType: 'Parameters', parameter };
}

interface Journey {
  file: string;
  title: string;
  patients: Resource[];
  carePlans: CarePlan[];
  extra: Resource[];
}

async function main(): Promise<void> {
  const running = await startInProcess('2026-01-01T09:00:00Z', { baseUrl: 'http://localhost:8080/fhir' });
  const { clock, url: base } = running;
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${base}/${path}`, {
      method,
      headers: { 'Content-Type': 'application/fhir+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  /** Moves the clock to a date (10:00 in Oslo) and runs the scheduled evaluation, as the server would that day. */
  const on = async (date: string) => {
    clock.set(new Date(`${date}T09:00:00Z`));
    await call('POST', '$evaluate-deadlines', { resourceType: 'Parameters' });
  };
  const put = (r: Resource & { id: string }) => call('PUT', `${r.resourceType}/${r.id}`, r);
  const [organization, coordinator, therapist] = [await put(SHARED[0]), await put(SHARED[1]), await put(SHARED[2])];
  const patient = async (id: string, given: string, birthDate: string, gender: string, individ: number) => {
    const [y, m, d] = birthDate.split('-');
    return put({
      resourceType: 'Patient',
      id,
      name: [{ family: 'Eksempel', given: [given] }],
      gender,
      birthDate,
      identifier: [{ system: FNR, value: personNumber(`${d}${m}${y.slice(2)}`, individ, 'synthetic') }],
    } as never);
  };
  const referral = (id: string, subject: string, date: string, text: string) =>
    put({
      resourceType: 'ServiceRequest',
      id,
      status: 'completed',
      intent: 'order',
      subject: { reference: subject },
      authoredOn: date,
      requester: { display: 'Fastlege (eksempel)' },
      performer: [{ reference: `Organization/${organization.id}` }],
      code: { text: 'Henvisning til psykisk helsevern / TSB' },
      reasonCode: [{ text }],
    } as never);
  const apply = async (code: string, subject: string, start: string, more: Record<string, string> = {}) => {
    await on(start);
    const practitioner = `Practitioner/${coordinator.id}`;
    const params = { subject, start, practitioner, organization: `Organization/${organization.id}`, ...more };
    return (await call('POST', `PlanDefinition/pathway-${code}/$apply`, applyParameters(params))) as CarePlan;
  };
  const taskOf = async (carePlan: CarePlan, action: string) =>
    (await call('GET', `Task?identifier=${encodeURIComponent(`${ACTION}|${carePlan.id}/${action}`)}`)).entry[0]
      .resource as Task;
  /** Completes a milestone on a date (an outcome from a Volven list; a postponement's period). */
  const done = async (
    carePlan: CarePlan,
    action: string,
    date: string,
    outcome?: [list: string, code: string],
    more: Partial<Task> = {},
  ) => {
    await on(date);
    const task = await taskOf(carePlan, action);
    const output = outcome
      ? [
          {
            type: { text: 'Utfall' },
            valueCodeableConcept: { coding: [{ system: OUTCOME(outcome[0]), code: outcome[1] }] },
          },
        ]
      : undefined;
    await call('PUT', `Task/${task.id}`, {
      ...task,
      status: 'completed',
      executionPeriod: { start: date, end: date },
      owner: { reference: `Practitioner/${therapist.id}` },
      ...(output ? { output } : {}),
      ...more,
    });
  };
  const ownDescription = async (
    carePlan: CarePlan,
    subject: string,
    id: string,
    date: string,
    answers: [string, string][],
  ) => {
    const response = await put({
      resourceType: 'QuestionnaireResponse',
      id,
      questionnaire: 'http://forlop.no/fhir/Questionnaire/own-description|0.1.0',
      status: 'completed',
      subject: { reference: subject },
      authored: date,
      author: { reference: subject },
      source: { reference: subject },
      item: answers.map(([linkId, text]) => ({ linkId, answer: [{ valueString: text }] })),
    } as never);
    await done(carePlan, 'own-description', date, undefined, {
      output: [
        {
          type: { text: 'Pasientens egen beskrivelse' },
          valueReference: { reference: `QuestionnaireResponse/${response.id}` },
        },
      ],
    });
    return response as Resource;
  };
  const careActions = async (carePlan: CarePlan, date: string) => {
    await done(carePlan, 'coordinator', date);
    await done(carePlan, 'children-next-of-kin', date, undefined, {
      note: [{ text: 'Spurt om barn og mindreårige søsken som pårørende.' }],
    });
    await done(carePlan, 'violence-screening', date, undefined, {
      note: [{ text: 'Kartlagt vold, overgrep og traumer.' }],
    });
    await done(carePlan, 'somatic-health', date, undefined, {
      note: [{ text: 'Somatisk helse og levevaner kartlagt.' }],
    });
  };

  const journeys: Journey[] = [];

  // D11 adults: referral, the whole pathway on time, the patient's own description, ended as completed
  {
    const p = await patient('d11-ola', 'Ola', '1988-05-12', 'male', 120);
    const ref = await referral('d11-henvisning', `Patient/${p.id}`, '2026-01-05', 'Angst og depresjon over tid');
    const cp = await apply('D11', `Patient/${p.id}`, '2026-01-12', { referral: `ServiceRequest/${ref.id}` });
    await done(cp, 'first-attendance', '2026-01-20');
    const qr = await ownDescription(cp, `Patient/${p.id}`, 'd11-egen-beskrivelse', '2026-01-20', [
      ['situation', 'Jeg har vært nedstemt og engstelig i over et år, og sover dårlig.'],
      ['what-matters', 'Å klare jobben og å være der for barna mine.'],
      ['own-part', 'Jeg vil prøve ut øvelsene mellom timene.'],
    ]);
    await careActions(cp, '2026-01-27');
    await done(cp, 'clinical-decision', '2026-02-17', ['9323', 'P']);
    await done(cp, 'collaboration-meeting', '2026-02-24', ['9324', 'M']);
    await done(cp, 'first-evaluation', '2026-04-14');
    await done(cp, 'end', '2026-06-30', ['9326', 'G']);
    journeys.push({
      file: 'journey-D11-adults.json',
      title: 'D11 psykisk helsevern voksne: a whole pathway on time, from referral to end',
      patients: [p],
      carePlans: [cp],
      extra: [ref, qr],
    });
  }
  // D12 children and youth: extended assessment (C with outcome U)
  {
    const p = await patient('d12-emma', 'Emma', '2012-09-03', 'female', 510);
    const cp = await apply('D12', `Patient/${p.id}`, '2026-02-02');
    await done(cp, 'first-attendance', '2026-02-10');
    await careActions(cp, '2026-02-10');
    await done(cp, 'clinical-decision', '2026-03-16', ['9323', 'U']);
    await done(cp, 'first-evaluation', '2026-05-04');
    await done(cp, 'end', '2026-08-31', ['9326', 'G']);
    journeys.push({
      file: 'journey-D12-children-youth.json',
      title: 'D12 psykisk helsevern barn og unge: an extended assessment',
      patients: [p],
      carePlans: [cp],
      extra: [],
    });
  }
  // D01 TSB: ØH start (emergency), inpatient, detox
  {
    const p = await patient('d01-jonas', 'Jonas', '1979-11-23', 'male', 250);
    const cp = await apply('D01', `Patient/${p.id}`, '2026-03-09', { emergency: 'true', setting: 'IMP' });
    await done(cp, 'first-attendance', '2026-03-09');
    await careActions(cp, '2026-03-10');
    await done(cp, 'clinical-decision', '2026-03-13', ['9323', 'T']);
    await done(cp, 'detox-finished', '2026-03-16');
    await done(cp, 'treatment-after-detox', '2026-03-16');
    await done(cp, 'first-evaluation', '2026-03-19');
    await done(cp, 'next-evaluation', '2026-04-28');
    await done(cp, 'end', '2026-06-05', ['9326', 'G']);
    journeys.push({
      file: 'journey-D01-tsb-emergency.json',
      title: 'D01 TSB: an emergency (ØH) start, inpatient, with detoxification',
      patients: [p],
      carePlans: [cp],
      extra: [],
    });
  }
  // D11 → D06: a transfer to the psychosis pathway (X with N), which then starts
  {
    const p = await patient('d06-sara', 'Sara', '2001-02-14', 'female', 530);
    const first = await apply('D11', `Patient/${p.id}`, '2026-04-06');
    await done(first, 'first-attendance', '2026-04-10');
    await done(first, 'end', '2026-04-20', ['9326', 'N']);
    const cp = await apply('D06', `Patient/${p.id}`, '2026-04-20');
    await done(cp, 'first-attendance', '2026-04-24');
    await careActions(cp, '2026-04-24');
    await done(cp, 'clinical-decision', '2026-05-20', ['9323', 'P']);
    await done(cp, 'first-evaluation', '2026-07-01');
    await done(cp, 'end', '2026-10-01', ['9326', 'G']);
    journeys.push({
      file: 'journey-D06-psychosis-transfer.json',
      title: 'D06 psykoselidelser: transferred from D11 (X with N), then the psychosis pathway',
      patients: [p],
      carePlans: [first, cp],
      extra: [],
    });
  }
  // D07 OCD: the patient postpones (L) for two weeks; the open due dates move
  {
    const p = await patient('d07-nora', 'Nora', '1996-07-30', 'female', 140);
    const cp = await apply('D07', `Patient/${p.id}`, '2026-02-16');
    // recorded once the two weeks are over: a milestone is dated when it has happened
    await on('2026-03-06');
    const l = await taskOf(cp, 'patient-postponed');
    await call('PUT', `Task/${l.id}`, {
      ...l,
      status: 'completed',
      executionPeriod: { start: '2026-02-20', end: '2026-03-06' },
      note: [{ text: 'Pasienten ønsket å utsette oppstart to uker.' }],
    });
    await done(cp, 'first-attendance', '2026-03-09');
    await careActions(cp, '2026-03-09');
    await done(cp, 'clinical-decision', '2026-04-13', ['9323', 'P']);
    await done(cp, 'first-evaluation', '2026-06-01');
    await done(cp, 'ocd-treatment-finished', '2026-08-24');
    await done(cp, 'end', '2026-09-01', ['9326', 'G']);
    journeys.push({
      file: 'journey-D07-ocd-postponed.json',
      title: 'D07 tvangslidelse: the patient postpones the start by two weeks (L)',
      patients: [p],
      carePlans: [cp],
      extra: [],
    });
  }
  // D08 eating disorders, severe: the first attendance is a day late — a breach (DetectedIssue)
  {
    const p = await patient('d08-ida', 'Ida', '2009-01-19', 'female', 520);
    const cp = await apply('D08', `Patient/${p.id}`, '2026-05-04', { severity: 'alvorlig' });
    await on('2026-05-12');
    await done(cp, 'first-attendance', '2026-05-13');
    await careActions(cp, '2026-05-13');
    await done(cp, 'clinical-decision', '2026-06-10', ['9323', 'P']);
    await done(cp, 'first-evaluation', '2026-07-06');
    await done(cp, 'next-evaluation', '2026-08-12');
    await done(cp, 'end', '2026-09-15', ['9326', 'G']);
    journeys.push({
      file: 'journey-D08-eating-disorders-breach.json',
      title: 'D08 spiseforstyrrelser (severe): the first attendance a day late, recorded as a breach',
      patients: [p],
      carePlans: [cp],
      extra: [],
    });
  }
  // D09 and D10: a pregnant woman in TSB, and her newborn's pathway
  {
    const mother = await patient('d09-line', 'Line', '1995-03-08', 'female', 160);
    const cp = await apply('D09', `Patient/${mother.id}`, '2026-01-19');
    await done(cp, 'first-attendance', '2026-01-21');
    await careActions(cp, '2026-01-21');
    await done(cp, 'clinical-decision', '2026-01-27', ['9323', 'T']);
    await done(cp, 'first-evaluation', '2026-02-09');
    await done(cp, 'next-evaluation', '2026-03-20');
    await done(cp, 'end', '2026-06-30', ['9326', 'G']);
    const child = await patient('d10-baby', 'Baby', '2026-06-10', 'female', 500);
    const cp2 = await apply('D10', `Patient/${child.id}`, '2026-06-12');
    await done(cp2, 'first-attendance', '2026-06-15');
    await done(cp2, 'clinical-decision', '2026-06-19', ['9323', 'K']);
    await done(cp2, 'first-evaluation', '2026-07-02');
    await done(cp2, 'next-evaluation', '2026-08-12');
    await done(cp2, 'end', '2026-09-30', ['9326', 'G']);
    journeys.push({
      file: 'journey-D09-D10-pregnancy.json',
      title: "D09 and D10 gravide og rus: the woman's pathway, then her newborn's",
      patients: [mother, child],
      carePlans: [cp, cp2],
      extra: [],
    });
  }

  for (const f of readdirSync(EXAMPLES_DIR).filter((f) => f.startsWith('journey-'))) unlinkSync(join(EXAMPLES_DIR, f));
  for (const j of journeys)
    writeFileSync(join(EXAMPLES_DIR, j.file), `${JSON.stringify(await exportJourney(call, j), null, 2)}\n`);
  // the registry report of the journeys' busiest month, made from the written journeys as a client
  // loading them would have them (readable ids, so the report is the same every time this runs)
  const fresh = await startInProcess('2026-11-01T09:00:00Z', { baseUrl: 'http://localhost:8080/fhir' });
  try {
    const post = (path: string, method: string, body: unknown) =>
      fetch(`${fresh.url}/${path}`, {
        method,
        headers: { 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify(body),
      });
    for (const j of journeys) {
      const res = await post('', 'POST', JSON.parse(readFileSync(join(EXAMPLES_DIR, j.file), 'utf8')));
      if (res.status !== 200) throw new Error(`${j.file}: ${res.status} ${await res.text()}`);
    }
    const res = await post('$registry-report', 'POST', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'period', valueString: '2026-03' },
        { name: 'unit', valueString: 'Organization/eksempel-hf' },
      ],
    });
    const reported = (await res.json()) as { parameter: { name: string; resource?: unknown }[] };
    const report = reported.parameter.find((p) => p.name === 'report')?.resource;
    writeFileSync(join(EXAMPLES_DIR, 'npr-report-2026-03.json'), `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await fresh.close();
  }
  console.log(`wrote ${journeys.length} journeys to ${EXAMPLES_DIR}`);
  await running.close();
}

/** Server-assigned id → the readable id a journey's export gives it (the report example uses the same). */
const exportedIds = new Map<string, string>();

/**
 * The entry of a shared resource: a conditional update by its identifier (R4 §3.1.0.4.3), carrying
 * its own id — created with that id where nothing has the identifier yet, the same resource where a
 * journey loaded before created it — so every journey stands alone and the demo's ids are known.
 */
function sharedEntry(r: (typeof SHARED)[number]): BundleEntry {
  const { system, value } = r.identifier[0];
  const criteria = `identifier=${encodeURIComponent(`${system}|${value}`)}`;
  const request = { method: 'PUT' as const, url: `${r.resourceType}?${criteria}` };
  return { fullUrl: `http://localhost:8080/fhir/${r.resourceType}/${r.id}`, resource: r, request };
}

/**
 * A journey as a transaction Bundle, every resource with a readable id: patients first (the loader's
 * "already there" test looks at the first PUT), then the shared organisation and practitioners
 * (sharedEntry), then what the milestones refer to, the breaches (before their Tasks, so a reload
 * finds them), and the Tasks in the order they were done, the open and cancelled ones last.
 */
async function exportJourney(call: (m: string, p: string) => Promise<any>, j: Journey): Promise<Bundle> {
  const all = (path: string) =>
    call('GET', `${path}&_count=1000`).then((b: Bundle) => (b.entry ?? []).map((e) => e.resource as Resource));
  const latest = async (r: Resource) => (await call('GET', `${r.resourceType}/${r.id}`)) as Resource;
  const plans = await Promise.all(j.carePlans.map((c) => latest(c) as Promise<CarePlan>));
  const parts: Resource[][] = [await Promise.all(j.patients.map(latest)), await Promise.all(j.extra.map(latest))];
  const tasks: Task[] = [];
  const names = exportedIds;
  const slug = j.file.replace(/^journey-|\.json$/g, '').toLowerCase();
  for (const plan of plans) {
    const code = plan.category?.[0]?.coding?.[0]?.code?.toLowerCase() as string;
    names.set(plan.id as string, `${slug}-${code}-careplan`);
    const related = [plan.supportingInfo?.[0]?.reference, plan.careTeam?.[0]?.reference].filter(Boolean) as string[];
    const linked = await Promise.all(related.map((ref) => call('GET', ref) as Promise<Resource>));
    for (const r of linked)
      names.set(r.id as string, `${slug}-${code}-${r.resourceType === 'CareTeam' ? 'careteam' : 'episode'}`);
    const mine = (await all(`Task?based-on=CarePlan/${plan.id}`)) as Task[];
    for (const t of mine) names.set(t.id as string, `${slug}-${code}-${t.identifier?.[0]?.value?.split('/')[1]}`);
    const issues = await all(`DetectedIssue?implicated=CarePlan/${plan.id}`);
    issues.forEach((d, i) => names.set(d.id as string, `${slug}-${code}-breach-${i + 1}`));
    parts.push(linked, [plan], issues);
    tasks.push(...mine);
  }
  const order = (t: Task) =>
    t.status === 'completed' ? `0${t.executionPeriod?.end}${t.meta?.lastUpdated}` : `1${t.meta?.lastUpdated}`;
  parts.push(tasks.sort((a, b) => order(a).localeCompare(order(b))));
  let text = JSON.stringify(parts.flat().map(({ meta: _m, ...r }) => r));
  for (const [from, to] of names) text = text.split(from).join(to);
  const resources = JSON.parse(text) as Resource[];
  const put = (r: Resource): BundleEntry => ({
    fullUrl: `http://localhost:8080/fhir/${r.resourceType}/${r.id}`,
    resource: r,
    request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
  });
  const patients = j.patients.length;
  const entry: BundleEntry[] = [
    ...resources.slice(0, patients).map(put),
    ...SHARED.map(sharedEntry),
    ...resources.slice(patients).map(put),
  ];
  return {
    resourceType: 'Bundle',
    id: slug,
    meta: { tag: [{ system: 'http://forlop.no/fhir/CodeSystem/example', code: 'synthetic', display: j.title }] },
    type: 'transaction',
    entry,
  } as Bundle;
}

await main();
