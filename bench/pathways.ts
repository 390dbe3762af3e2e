import type { Resource } from '@medplum/fhirtypes';
import { newId } from '../src/fhir/ids.js';
import type { Services } from '../src/fhir/services.js';
import { addCalendarDays } from '../src/pathways/calendar.js';
import { evaluateAll } from '../src/pathways/evaluate.js';
import { fnrFor } from '../test/support/norwegian-ids.js';
import { table } from './harness.js';
import { startInProcess } from '../test/support/in-process.js';

/**
 * Issue 6's figures, on the embedded backend, in one process:
 *
 * - `$apply` over HTTP, 8 requests in flight, one pathway per new patient (NPR allows one open pathway
 *   each), start dates spread over 60 days before "today", all seven pathways in turn.
 * - The scheduled deadline evaluation over N open CarePlans (~18 milestone Tasks each). The CarePlans
 *   beyond those applied over HTTP are copies of them (new ids for every resource, references
 *   rewritten) written straight to the store in large transactions — seeding only: it skips
 *   validation and the write reactions so that 100,000 pathways (~2 million resources) seed in
 *   minutes, not the hours `$apply` would take. Three runs are timed: at the same moment as the
 *   seeding (nothing to change: the 15-minute run), one day later (the nightly run: the milestones
 *   that cross a threshold that day), and a week later.
 * - The reference in the same run: reading every CarePlan row once from the database.
 */
const PATHWAYS = ['D01', 'D06', 'D07', 'D09', 'D10', 'D11', 'D12'];
export const TODAY = '2026-05-04';
const SPREAD_DAYS = 60;

export async function pathwaysBench(sizes: number[], applyCount = 1000): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) {
    const running = await startInProcess(`${TODAY}T08:00:00Z`);
    const { built, storage, clock, url: base } = running;
    try {
      const applied = Math.min(n, applyCount);
      await seedPatients(base, applied);
      const apply = await timeApply(base, applied);
      const t0 = performance.now();
      await copyPathways(built.services, n - applied);
      const seedSeconds = (performance.now() - t0) / 1000;
      const runs: string[] = [];
      for (const days of [0, 1, 7]) {
        clock.set(new Date(`${addCalendarDays(TODAY, days)}T08:00:00Z`));
        const t1 = performance.now();
        const r = await evaluateAll(built.services);
        const s = (performance.now() - t1) / 1000;
        runs.push(`${s.toFixed(2)} s (${r.carePlans} CarePlans, ${r.updated} Tasks, ${r.breaches} breaches)`);
      }
      const t2 = performance.now();
      const ids = await storage.all<{ id: string }>(`SELECT id FROM resources WHERE type = 'CarePlan' AND deleted = 0`);
      for (const { id } of ids)
        await storage.get(`SELECT content FROM resources WHERE type = 'CarePlan' AND id = ?`, [id]);
      const readSeconds = (performance.now() - t2) / 1000;
      rows.push([
        n,
        applied,
        apply.perSecond,
        apply.p50,
        apply.p99,
        seedSeconds.toFixed(0),
        ...runs,
        readSeconds.toFixed(2),
      ]);
    } finally {
      await running.close();
    }
  }
  return [
    '### Pathways (embedded SQLite, in one process; N open CarePlans, each ~18 Tasks)',
    '',
    `\`$apply\` over HTTP with 8 in flight (a new patient each, start dates spread over ${SPREAD_DAYS} days). The other CarePlans are copies written straight to the store (seeding only). The evaluation runs are the scheduled run (\`evaluateAll\`): the CarePlans it evaluated, the Tasks whose businessStatus changed and the DetectedIssues it created. The reference is reading each CarePlan row once.`,
    '',
    table(
      [
        'N',
        '$apply n',
        '$apply/s',
        'p50 ms',
        'p99 ms',
        'seeding s',
        'run, same time',
        'run, a day later',
        'run, a week later',
        'reference: read each CarePlan, s',
      ],
      rows,
    ),
  ].join('\n');
}

/** Fixed-width, so that no patient's id is a part of another's (the copies replace ids as text). */
const patientId = (i: number) => `bench-patient-${String(i).padStart(7, '0')}`;

export async function seedPatients(base: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const entry = Array.from({ length: Math.min(500, n - i) }, (_, k) => {
      const id = patientId(i + k);
      return {
        resource: {
          resourceType: 'Patient',
          id,
          name: [{ family: 'Bench' }],
          birthDate: '2010-01-01',
          identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: fnrFor(i + k) }],
        },
        request: { method: 'PUT', url: `Patient/${id}` },
      };
    });
    const res = await fetch(base, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    if (res.status !== 200) throw new Error(`seeding patients: ${res.status} ${await res.text()}`);
  }
}

/** The unit the benchmark's pathways report to ($apply needs one). */
const BENCH_UNIT = {
  resourceType: 'Organization',
  id: 'bench-hf',
  name: 'Bench HF',
  identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.102', value: '4200001' }],
};

export async function timeApply(base: string, n: number): Promise<{ perSecond: number; p50: string; p99: string }> {
  const unit = await fetch(`${base}/Organization/bench-hf`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify(BENCH_UNIT),
  });
  if (unit.status >= 300) throw new Error(`the bench unit: ${unit.status} ${await unit.text()}`);
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const start = addCalendarDays(TODAY, -(i % SPREAD_DAYS));
        const t0 = performance.now();
        const query = `subject=Patient/${patientId(i)}&start=${start}&organization=Organization/bench-hf`;
        const res = await fetch(`${base}/PlanDefinition/pathway-${PATHWAYS[i % PATHWAYS.length]}/$apply?${query}`, {
          method: 'POST',
        });
        if (res.status !== 200) throw new Error(`$apply: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: Math.round(n / seconds),
    p50: latencies[Math.floor(n / 2)].toFixed(1),
    p99: latencies[Math.floor(n * 0.99)].toFixed(1),
  };
}

/**
 * Copies the applied pathways (Patient, EpisodeOfCare, CarePlan, Tasks and any DetectedIssue) until
 * `count` more CarePlans exist: every id in a set is replaced by a new one wherever it appears.
 */
export async function copyPathways(svc: Services, count: number): Promise<void> {
  if (count <= 0) return;
  const plans = await svc.store.storage.all<{ id: string; content: string }>(
    `SELECT id, content FROM resources WHERE type = 'CarePlan' AND deleted = 0`,
  );
  const sets: Resource[][] = [];
  for (const plan of plans) {
    const carePlan = JSON.parse(plan.content) as Resource & {
      subject: { reference: string };
      supportingInfo?: { reference?: string }[];
    };
    const patientId = carePlan.subject.reference.split('/')[1];
    const episodeId = carePlan.supportingInfo?.[0]?.reference?.split('/')[1] ?? '';
    const related = await svc.store.storage.all<{ content: string }>(
      `SELECT content FROM resources WHERE deleted = 0 AND ((type = 'Patient' AND id = ?) OR (type = 'EpisodeOfCare' AND id = ?) OR (type IN ('Task', 'DetectedIssue') AND content LIKE ?))`,
      [patientId, episodeId, `%${plan.id}%`],
    );
    sets.push([carePlan, ...related.map((r) => JSON.parse(r.content) as Resource)]);
  }
  const PER_TX = 200;
  for (let done = 0; done < count; done += PER_TX) {
    await svc.store.transaction(async (tx) => {
      for (let k = done; k < Math.min(count, done + PER_TX); k++) {
        const set = sets[k % sets.length];
        let text = JSON.stringify(set);
        for (const r of set) text = text.split(r.id as string).join(newId());
        for (const r of JSON.parse(text) as Resource[]) {
          const { meta: _meta, ...rest } = r;
          await svc.store.write(tx, r.resourceType, r.id as string, undefined, rest as Resource, 'POST');
        }
      }
    });
  }
}
