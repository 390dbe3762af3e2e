import { randomUUID } from 'node:crypto';

/**
 * A write load against a Forløp node, for the outage test and `npm run chaos`: writers create
 * Patients one at a time, others post transaction Bundles of several Patients, a reader searches.
 * Every answer is recorded; acknowledged writes (201, or 200 for a transaction) with the exact
 * content sent, so they can be looked for afterwards.
 */
const FHIR_JSON = 'application/fhir+json';
export const BUNDLE_SYSTEM = 'urn:forlop-chaos:bundle';
const MEMBER_SYSTEM = 'urn:forlop-chaos:member';
export const BUNDLE_SIZE = 8;

export interface Answer {
  kind: 'create' | 'transaction' | 'read';
  /** When the request was sent (ms since the epoch). */
  at: number;
  /** The HTTP status; 0 for a request that got no answer (refused, reset, dropped connection). */
  status: number;
  retryAfter?: string;
  /** issue[0].code of an OperationOutcome answer. */
  issueCode?: string;
  /** issue[0].diagnostics of an OperationOutcome answer. */
  diagnostics?: string;
  error?: string;
}

export interface PatientSent {
  resourceType: 'Patient';
  identifier: { system: string; value: string }[];
  name: { family: string; given: string[] }[];
  birthDate: string;
}

export interface LoadRecord {
  answers: Answer[];
  /** id → the Patient as sent, for every create answered 201. */
  acked: Map<string, PatientSent>;
  /** bundle key → whether it was answered 200 (acknowledged); every bundle sent is here. */
  bundles: Map<string, boolean>;
}

export interface WriteLoad {
  record: LoadRecord;
  /** Stops the load and waits for the requests in flight. */
  stop(): Promise<LoadRecord>;
}

let counter = 0;

export function patient(tag: string, extra: { system: string; value: string }[] = []): PatientSent {
  const n = ++counter;
  return {
    resourceType: 'Patient',
    identifier: [{ system: MEMBER_SYSTEM, value: `${tag}-${n}-${randomUUID()}` }, ...extra],
    name: [{ family: `Chaos${n}`, given: [tag, `n${n}`] }],
    birthDate: `19${String(10 + (n % 89)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 9}`,
  };
}

async function send(
  kind: Answer['kind'],
  url: string,
  init: RequestInit,
): Promise<{ answer: Answer; body?: Record<string, unknown> }> {
  const at = Date.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const issue =
      body?.resourceType === 'OperationOutcome'
        ? (body.issue as { code?: string; diagnostics?: string }[])[0]
        : undefined;
    const answer: Answer = {
      kind,
      at,
      status: res.status,
      retryAfter: res.headers.get('retry-after') ?? undefined,
      issueCode: issue?.code,
      diagnostics: issue?.diagnostics,
    };
    return { answer, body };
  } catch (err) {
    return { answer: { kind, at, status: 0, error: String((err as Error)?.cause ?? err) } };
  }
}

export async function createOne(base: string, record: LoadRecord, tag: string): Promise<Answer> {
  const sent = patient(tag);
  const { answer, body } = await send('create', `${base}/Patient`, {
    method: 'POST',
    headers: { 'Content-Type': FHIR_JSON },
    body: JSON.stringify(sent),
  });
  record.answers.push(answer);
  if (answer.status === 201) record.acked.set(String(body?.id), sent);
  return answer;
}

async function transactionOne(base: string, record: LoadRecord, tag: string): Promise<Answer> {
  const key = `${tag}-${randomUUID()}`;
  const entry = Array.from({ length: BUNDLE_SIZE }, () => ({
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: patient(tag, [{ system: BUNDLE_SYSTEM, value: key }]),
    request: { method: 'POST', url: 'Patient' },
  }));
  record.bundles.set(key, false);
  const init = {
    method: 'POST',
    headers: { 'Content-Type': FHIR_JSON, Prefer: 'return=minimal' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
  };
  const { answer } = await send('transaction', base, init);
  record.answers.push(answer);
  if (answer.status === 200) record.bundles.set(key, true);
  return answer;
}

async function readOne(base: string, record: LoadRecord): Promise<Answer> {
  const { answer } = await send('read', `${base}/Patient?family=Chaos1&_count=5`, {});
  record.answers.push(answer);
  return answer;
}

/** Starts `writers` create loops, `transactions` Bundle loops and one reader against `base` (…/fhir). */
export function startWriteLoad(
  base: string,
  options: { writers?: number; transactions?: number; pauseMs?: number } = {},
): WriteLoad {
  const record: LoadRecord = { answers: [], acked: new Map(), bundles: new Map() };
  let running = true;
  const pause = () => new Promise((r) => setTimeout(r, options.pauseMs ?? 5));
  const loop = async (step: () => Promise<Answer>) => {
    while (running) {
      const a = await step();
      // an outage answers at once: pause a little longer so the record stays readable
      await (a.status === 201 || a.status === 200 ? pause() : new Promise((r) => setTimeout(r, 25)));
    }
  };
  const loops = [
    ...Array.from({ length: options.writers ?? 4 }, (_, i) => loop(() => createOne(base, record, `w${i}`))),
    ...Array.from({ length: options.transactions ?? 2 }, (_, i) => loop(() => transactionOne(base, record, `t${i}`))),
    loop(() => readOne(base, record)),
  ];
  return {
    record,
    async stop() {
      running = false;
      await Promise.all(loops);
      return record;
    },
  };
}

/** The acknowledged creates that are missing or differ from what was sent (should be none). */
export async function lostWrites(base: string, record: LoadRecord): Promise<string[]> {
  const lost: string[] = [];
  const ids = [...record.acked.keys()];
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const res = await fetch(`${base}/Patient?_id=${chunk.join(',')}&_count=50`);
    if (res.status !== 200) throw new Error(`search for acknowledged writes answered ${res.status}`);
    const found = new Map(
      ((await res.json()) as { entry?: { resource: PatientSent & { id: string } }[] }).entry?.map((e) => [
        e.resource.id,
        e.resource,
      ]) ?? [],
    );
    for (const id of chunk) {
      const stored = found.get(id);
      const sent = record.acked.get(id) as PatientSent;
      const same =
        stored &&
        JSON.stringify([stored.identifier, stored.name, stored.birthDate]) ===
          JSON.stringify([sent.identifier, sent.name, sent.birthDate]);
      if (!same) lost.push(id);
    }
  }
  return lost;
}

/** Bundles stored in part (neither every entry nor none), and acknowledged bundles not wholly stored. */
export async function brokenBundles(base: string, record: LoadRecord): Promise<string[]> {
  const broken: string[] = [];
  for (const [key, acked] of record.bundles) {
    const res = await fetch(
      `${base}/Patient?identifier=${encodeURIComponent(`${BUNDLE_SYSTEM}|${key}`)}&_summary=count`,
    );
    if (res.status !== 200) throw new Error(`count of bundle ${key} answered ${res.status}`);
    const total = ((await res.json()) as { total: number }).total;
    if ((total !== 0 && total !== BUNDLE_SIZE) || (acked && total !== BUNDLE_SIZE))
      broken.push(`${key}: ${total} of ${BUNDLE_SIZE} stored${acked ? ' (acknowledged)' : ''}`);
  }
  return broken;
}
