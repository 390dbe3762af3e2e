import type { Bundle, Resource } from '@medplum/fhirtypes';
import { newId } from '../src/fhir/ids.js';
import type { Services } from '../src/fhir/services.js';
import { startInProcess } from '../test/support/in-process.js';
import { percentile, table } from './harness.js';
import { copyPathways, seedPatients, timeApply, TODAY } from './pathways.js';

/**
 * Issue 20's `$everything` figure, on the embedded backend, in one process: one patient with 5
 * pathways (each ~18 Tasks, its EpisodeOfCare, CareTeam, CarePlan) among N other patients' pathways.
 * The others are applied over HTTP (up to `applyCount`) and copied beyond that (seeding only, as the
 * pathways suite does); the patient's 5 are copies of 5 applied pathways of different types, their
 * patient reference rewritten to the one patient. Timed, one request at a time over HTTP:
 *
 * - `$everything` in one page (`_count=1000`), and paged by 50 following the next links;
 * - the reference in the same run: the same resources fetched by the compartment searches one type
 *   at a time (the types that hold the patient's data), plus a read of each shared resource;
 * - and the raw database read of the same rows (SELECT content by rid, no HTTP, no JSON).
 */
const TARGET = 'bench-everything';
const ROUNDS = 40;

async function seedTarget(svc: Services): Promise<void> {
  const plans = await svc.store.storage.all<{ id: string; content: string }>(
    `SELECT id, content FROM resources WHERE type = 'CarePlan' AND deleted = 0 ORDER BY rid LIMIT 5`,
  );
  await svc.store.transaction(async (tx) => {
    const patient = { resourceType: 'Patient', name: [{ family: 'Everything' }], birthDate: '1970-01-01' };
    await svc.store.write(tx, 'Patient', TARGET, undefined, patient as Resource, 'PUT');
    for (const plan of plans) {
      const carePlan = JSON.parse(plan.content) as {
        subject: { reference: string };
        supportingInfo?: { reference?: string }[];
      };
      const [patientId, episodeId] = [
        carePlan.subject.reference.split('/')[1],
        carePlan.supportingInfo?.[0]?.reference?.split('/')[1] ?? '',
      ];
      const related = await tx.all<{ content: string }>(
        `SELECT content FROM resources WHERE deleted = 0 AND ((type = 'EpisodeOfCare' AND id = ?)
          OR (type IN ('Task', 'DetectedIssue', 'CareTeam') AND content LIKE ?))`,
        [episodeId, `%${plan.id}%`],
      );
      const set = [carePlan as unknown as Resource, ...related.map((r) => JSON.parse(r.content) as Resource)];
      let text = JSON.stringify(set).split(`Patient/${patientId}`).join(`Patient/${TARGET}`);
      for (const r of set) text = text.split(r.id as string).join(newId());
      for (const r of JSON.parse(text) as Resource[]) {
        const { meta: _meta, ...rest } = r;
        await svc.store.write(tx, r.resourceType, r.id as string, undefined, rest as Resource, 'POST');
      }
    }
  });
}

async function timed(fn: () => Promise<void>): Promise<{ p50: string; p95: string }> {
  await fn(); // warm
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5).toFixed(1), p95: percentile(ms, 0.95).toFixed(1) };
}

async function getJson(url: string): Promise<Bundle> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Bundle;
}

/** Follows the next links (they carry the server's configured base, not the listening port's). */
async function allPages(url: string, base: string): Promise<number> {
  let n = 0;
  for (let next: string | undefined = url; next;) {
    const b = await getJson(next);
    n += b.entry?.length ?? 0;
    next = b.link?.find((l) => l.relation === 'next')?.url?.replace('http://127.0.0.1/fhir', base);
  }
  return n;
}

async function oneSize(n: number, applyCount: number): Promise<(string | number)[]> {
  const running = await startInProcess(`${TODAY}T08:00:00Z`);
  const { built, storage, url: base } = running;
  try {
    const applied = Math.min(n, applyCount);
    await seedPatients(base, applied);
    await timeApply(base, applied);
    await copyPathways(built.services, n - applied);
    await seedTarget(built.services);
    const everything = `${base}/Patient/${TARGET}/$everything`;
    const whole = await getJson(`${everything}?_count=1000`);
    const refs = (whole.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    const plans = refs.filter((r) => r.startsWith('CarePlan/')).length;
    if (plans !== 5) throw new Error(`expected 5 pathways, found ${plans}`);
    if ((await allPages(`${everything}?_count=50`, base)) !== refs.length) throw new Error('paging lost resources');
    const compartmentTypes = [...new Set(refs.map((r) => r.split('/')[0]))].filter((t) =>
      built.services.defs.compartments.get('Patient')?.members.has(t),
    );
    const shared = refs.filter((r) => !compartmentTypes.includes(r.split('/')[0]) && r !== `Patient/${TARGET}`);
    const one = await timed(async () => void (await getJson(`${everything}?_count=1000`)));
    const paged = await timed(async () => void (await allPages(`${everything}?_count=50`, base)));
    const byType = await timed(async () => {
      await fetch(`${base}/Patient/${TARGET}`).then((r) => r.arrayBuffer());
      for (const type of compartmentTypes) await getJson(`${base}/Patient/${TARGET}/${type}?_count=1000`);
      for (const ref of shared) await fetch(`${base}/${ref}`).then((r) => r.arrayBuffer());
    });
    const rids = (
      await storage.all<{ rid: number }>(
        `SELECT rid FROM resources WHERE (type || '/' || id) IN (${refs.map(() => '?').join(', ')})`,
        refs,
      )
    ).map((r) => r.rid);
    const raw = await timed(async () => {
      await storage.all(`SELECT content FROM resources WHERE rid IN (${rids.map(() => '?').join(', ')})`, rids);
    });
    return [n, refs.length, one.p50, one.p95, paged.p50, paged.p95, byType.p50, byType.p95, raw.p50, raw.p95];
  } finally {
    await running.close();
  }
}

export async function everythingBench(sizes: number[], applyCount = 1000): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) rows.push(await oneSize(n, applyCount));
  return [
    '### Patient/$everything (embedded SQLite, in one process; one patient with 5 pathways among N others)',
    '',
    `One request at a time over HTTP, ${ROUNDS} rounds after one warm-up. "One page": \`_count=1000\`; "paged": \`_count=50\` following the next links. The reference: the same resources fetched by \`GET Patient/[id]\`, the compartment searches one type at a time (the types that hold the patient's data) and a read of each shared resource; and the raw database read of the same rows by rid.`,
    '',
    table(
      [
        'N other pathways',
        'resources',
        'one page p50 ms',
        'p95 ms',
        'paged by 50 p50 ms',
        'p95 ms',
        'reference: by type p50 ms',
        'p95 ms',
        'raw read p50 ms',
        'p95 ms',
      ],
      rows,
    ),
  ].join('\n');
}
