import { fnrFor, organisationNumber } from '../support/norwegian-ids.js';

const J = 'application/fhir+json';

/** A FHIR request over HTTP that must succeed; returns the body. */
export async function fhirCall<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = { Accept: J, 'Content-Type': J };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 800)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface SeededUnit {
  unit: string;
  coordinators: string[];
  /** The coordinators' HPR numbers, in the same order. */
  hprNumbers: string[];
  carePlans: string[];
  patients: { id: string; fnr: string; name: string }[];
}

/** A coordinator's HPR number (digits only, unique per seeded unit). */
const hprOf = (offset: number, i: number) => String(9_100_000 + offset * 10 + i);

const day = (today: string, back: number) =>
  new Date(Date.parse(`${today}T12:00:00Z`) - back * 86_400_000).toISOString().slice(0, 10);

/**
 * A unit with `count` open pathways (D11 and D07 by turns) started over the last ~70 days, two
 * coordinators, the first attendance recorded for every third: due dates from weeks ago to weeks ahead.
 */
export async function seedUnit(
  base: string,
  today: string,
  count: number,
  offset = 0,
  token?: string,
): Promise<SeededUnit> {
  const id = `enhet-${offset}`;
  const call = <T = Record<string, unknown>>(m: string, p: string, b?: unknown) => fhirCall<T>(base, m, p, b, token);
  await call('PUT', `Organization/${id}`, {
    resourceType: 'Organization',
    id,
    name: `DPS Nordlys ${offset || ''}`.trim(),
    identifier: [
      { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber(String(91234000 + offset).slice(0, 8)) },
    ],
  });
  const coordinators = ['kari', 'per'].map((n) => `koord-${n}-${offset}`);
  for (const [i, c] of coordinators.entries()) {
    await call('PUT', `Practitioner/${c}`, {
      resourceType: 'Practitioner',
      id: c,
      name: [{ family: i ? 'Pettersen' : 'Nordmann', given: [i ? 'Per' : 'Kari'] }],
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: hprOf(offset, i) }],
    });
  }
  const out: SeededUnit = {
    unit: `Organization/${id}`,
    coordinators: coordinators.map((c) => `Practitioner/${c}`),
    hprNumbers: coordinators.map((_c, i) => hprOf(offset, i)),
    carePlans: [],
    patients: [],
  };
  for (let i = 0; i < count; i++) {
    const fnr = fnrFor(offset * 100_000 + i + 17);
    const pid = `sp-${offset}-${i}`;
    const name = { family: `Seedesen${i}`, given: [`Pasient`] };
    await call('PUT', `Patient/${pid}`, {
      resourceType: 'Patient',
      id: pid,
      name: [name],
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: fnr }],
    });
    const code = i % 2 ? 'D07' : 'D11';
    const q = new URLSearchParams({
      subject: `Patient/${pid}`,
      start: day(today, (i * 7) % 70),
      organization: out.unit,
      practitioner: out.coordinators[i % 2],
    });
    const plan = await call<{ id: string }>('POST', `PlanDefinition/pathway-${code}/$apply?${q}`);
    out.carePlans.push(plan.id);
    out.patients.push({ id: pid, fnr, name: `Pasient Seedesen${i}` });
    if (i % 3 === 0) await completeFirstAttendance(base, plan.id, day(today, Math.max(0, ((i * 7) % 70) - 3)), token);
  }
  return out;
}

async function completeFirstAttendance(base: string, carePlan: string, date: string, token?: string): Promise<void> {
  const q = `identifier=${encodeURIComponent(`http://forlop.no/fhir/NamingSystem/pathway-action|${carePlan}/first-attendance`)}`;
  const found = await fhirCall<{ entry: { resource: Record<string, unknown> }[] }>(
    base,
    'GET',
    `Task?${q}`,
    undefined,
    token,
  );
  const task = found.entry[0].resource;
  await fhirCall(
    base,
    'PUT',
    `Task/${task.id}`,
    { ...task, status: 'completed', executionPeriod: { start: date, end: date } },
    token,
  );
}
