import type { AuditEvent, AuditEventAgent, AuditEventEntity, Provenance, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { newId } from '../fhir/ids.js';
import type { FhirRequest } from '../fhir/request.js';
import type { ResourceStore, VersionRow } from '../fhir/store.js';
import { RETRY_AFTER_SECONDS, storageFault } from '../storage/faults.js';
import type { Tx } from '../storage/types.js';
import { AuditJournal } from './audit-journal.js';
import { helseIdAgents, helseIdPerson, helseIdProvenanceAgents } from './audit-agents.js';
import type { Principal } from './principal.js';

/**
 * The audit trail: one AuditEvent (R4, type `rest`) per interaction — who (token subject and
 * client, or "anonymous" with authentication off), from where, what (the interaction, the resources
 * and, for searches, the query), which patients, when, and the outcome. Writes are audited in their
 * own transaction (see ResourceStore.withCommitHook); reads, searches and refused requests through
 * a buffer flushed every `flushMs` in one transaction of many events — durable within that interval,
 * so auditing does not put a disk write in front of every read. Both go to the journal
 * (audit-journal.ts), which makes them AuditEvent resources in bulk.
 */
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

export interface AuditedRequest {
  req: FhirRequest;
  interaction: string;
  principal?: Principal;
  address?: string;
}

/** R4 AuditEvent.action for an interaction. */
function actionOf(interaction: string): AuditEvent['action'] {
  if (interaction === 'create') return 'C';
  if (interaction === 'update' || interaction === 'patch') return 'U';
  if (interaction === 'delete') return 'D';
  if (interaction === 'operation' || interaction === 'transaction' || interaction === 'batch') return 'E';
  return 'R';
}

/**
 * The patients a resource belongs to: itself, or the Patient references it holds near its root (subject, patient, for
 * …).
 */
export function patientsOf(resource: Resource | undefined, into = new Set<string>()): Set<string> {
  if (!resource) return into;
  if (resource.resourceType === 'Patient' && resource.id) into.add(`Patient/${resource.id}`);
  const visit = (node: unknown, depth: number) => {
    if (depth > 3 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n) => visit(n, depth));
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string' && /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(v)) into.add(v);
      else if (k !== 'contained' && k !== 'text') visit(v, depth + 1);
    }
  };
  visit(resource, 0);
  return into;
}

/** An AuditEvent (DICOM/IHE style, R4 §6.4) of one request: who, what, which patients, and how it ended. */
export function auditEvent(
  a: AuditedRequest,
  now: Date,
  status: number,
  resources: { reference: string; resource?: Resource }[],
  detail?: string,
): AuditEvent {
  const entity = entitiesOf(a, resources);
  return {
    resourceType: 'AuditEvent',
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: INTERACTION, code: a.interaction }],
    action: actionOf(a.interaction),
    recorded: now.toISOString(),
    outcome: status < 400 ? '0' : status < 500 ? '4' : '8',
    ...(status >= 400 || detail ? { outcomeDesc: detail ?? `HTTP ${status}` } : {}),
    agent: [agentOf(a), ...helseIdAgents(a.principal)],
    source: {
      observer: { display: 'Forløp FHIR server' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entity.length ? entity : undefined,
  };
}

/** What the request touched: its patients, the other resources (not on a search), and a search's query. */
function entitiesOf(a: AuditedRequest, resources: { reference: string; resource?: Resource }[]): AuditEventEntity[] {
  const patients = new Set<string>();
  for (const r of resources) patientsOf(r.resource, patients);
  const search = a.interaction.startsWith('search');
  const query = a.req.query.filter(([k]) => k !== '_format' && k !== '_pretty');
  const systemObject = { system: ENTITY_TYPE, code: '2', display: 'System Object' };
  return [
    ...[...patients].map((reference) => ({
      what: { reference },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    })),
    // a search result's every match would make the event as large as the result: its patients and its
    // query say what was seen
    ...(search ? [] : resources.filter((r) => !patients.has(r.reference)).slice(0, 100)).map((r) => ({
      what: { reference: r.reference },
      type: systemObject,
    })),
    ...(query.length && search
      ? [{ type: systemObject, query: Buffer.from(new URLSearchParams(query).toString()).toString('base64') }]
      : []),
  ];
}

/**
 * The requesting agent: the signed-in user (or anonymous on loopback), its client, address and scopes;
 * a HelseID person by HPR number or fødselsnummer, with the security level (audit-agents.ts).
 */
function agentOf(a: AuditedRequest): AuditEventAgent {
  const p = a.principal;
  const person = p && helseIdPerson(p);
  return {
    ...(person?.extension ? { extension: person.extension } : {}),
    type: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
          code: 'IRCP',
          display: 'information recipient',
        },
      ],
    },
    who: person
      ? { ...(p?.fhirUser ? { reference: p.fhirUser } : {}), identifier: person.identifier }
      : p?.fhirUser
        ? { reference: p.fhirUser, identifier: { value: p.subject } }
        : {
            identifier: { value: p?.subject ?? 'anonymous' },
            display: p ? undefined : 'Authentication off (loopback)',
          },
    ...(person?.altId ? { altId: person.altId } : p?.clientId && !person ? { altId: p.clientId } : {}),
    requestor: true,
    ...(a.address ? { network: { address: a.address, type: '2' as const } } : {}),
    ...(p?.scope
      ? {
          policy: p.scope
            .split(/\s+/)
            .filter(Boolean)
            .map((s) => `urn:smart-scope:${s}`),
        }
      : {}),
  };
}

/**
 * The client's `X-Provenance` (a Provenance as JSON), made to point at what the write produced; a
 * HelseID principal's person and organisation are added to its agents as the token says them.
 */
export function provenanceOf(header: string, written: VersionRow[], now: Date, principal?: Principal): Provenance {
  const given = JSON.parse(header) as Provenance;
  return {
    ...given,
    agent: [...(given.agent ?? []), ...helseIdProvenanceAgents(principal)],
    resourceType: 'Provenance',
    id: undefined,
    target: written.filter((r) => !r.deleted).map((r) => ({ reference: `${r.type}/${r.id}/_history/${r.version}` })),
    recorded: given.recorded ?? now.toISOString(),
  };
}

/**
 * Merges the events of one flush that differ only in when and what (same agent, client, address,
 * interaction and outcome) into one AuditEvent whose `period` spans them and whose entities are all
 * of theirs — every read is still in the trail, at a granularity of the flush interval.
 */
export function groupEvents(events: AuditEvent[]): AuditEvent[] {
  const groups = new Map<string, AuditEvent>();
  for (const e of events) {
    const key = JSON.stringify([e.subtype, e.action, e.outcome, e.outcomeDesc, e.agent]);
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { ...e, period: { start: e.recorded, end: e.recorded }, entity: [...(e.entity ?? [])] });
      continue;
    }
    g.period = { start: g.period?.start, end: e.recorded };
    g.recorded = e.recorded;
    const seen = new Set(g.entity?.map((x) => x.what?.reference ?? x.query));
    for (const x of e.entity ?? []) if (!seen.has(x.what?.reference ?? x.query)) g.entity?.push(x);
  }
  return [...groups.values()];
}

/** How reads, searches and refusals are kept: an AuditEvent each, or grouped per flush (see groupEvents). */
export type ReadAudit = 'each' | 'grouped';

export interface AuditLogOptions {
  /** How long an event waits to be written with others (ms). */
  flushMs?: number;
  /** The most events one transaction writes: a flush holds the single writer a few ms, not a hundred. */
  maxBatch?: number;
  /** The most events kept while the database cannot take them; past it, audited requests get 503. */
  maxQueued?: number;
  /** The first wait before writing again after a failed flush; doubled each time, up to 5 s. */
  retryMs?: number;
}

/** The default of AUDIT_QUEUE_LIMIT: at ~1–2 KB an event, 10–20 MB held at most. */
export const DEFAULT_AUDIT_QUEUE_LIMIT = 10_000;
const MAX_RETRY_MS = 5_000;

/**
 * AuditEvents for interactions without a transaction of their own, written in batches. When the
 * database cannot take a batch (it restarts), the events stay queued, in order, and are written
 * again after a growing pause (250 ms … 5 s) until it can: nothing accepted is lost while the
 * process lives. The queue is bounded: at `maxQueued` events `add` refuses (503), so a request on
 * patient data is refused rather than answered without its audit event being kept.
 */
export class AuditLog {
  private queue: AuditEvent[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private failures = 0;
  /** Events taken out of the queue by a flush still under way (counted against the limit). */
  private inFlight = 0;
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly retryMs: number;
  /** Where events are appended, to become AuditEvent resources in bulk. */
  readonly journal: AuditJournal;

  constructor(
    private readonly store: ResourceStore,
    /** The server's log: a batch not written (kept, written again later), an event that cannot be stored. */
    private readonly log: (entry: Record<string, unknown>) => void,
    private readonly mode: ReadAudit = 'each',
    options: AuditLogOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 50;
    this.maxBatch = options.maxBatch ?? 100;
    this.maxQueued = options.maxQueued ?? DEFAULT_AUDIT_QUEUE_LIMIT;
    this.retryMs = options.retryMs ?? 250;
    this.journal = new AuditJournal(store);
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.queue.length + this.inFlight;
  }

  add(event: AuditEvent): void {
    if (this.queued >= this.maxQueued) {
      const message =
        `The audit trail cannot be written at the moment (${this.queued} events wait for the database): ` +
        'try again after Retry-After';
      throw new FhirError('transient', message, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    this.queue.push(event);
    if (this.failures) return; // the retry timer writes it
    if (this.queue.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  /** Writes what is queued, a batch per transaction (also at shutdown, and before tests read the trail). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.writeQueued());
    return this.flushing;
  }

  /** The events still queued, taken out: at shutdown, what the database would not take goes to the log. */
  drain(): AuditEvent[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.queue.splice(0);
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight = batch.length;
      try {
        await this.write(this.mode === 'grouped' ? groupEvents(batch) : batch);
        this.failures = 0;
      } catch (err) {
        this.inFlight = 0;
        if (storageFault(err)) {
          this.queue.unshift(...batch);
          this.retryLater(err);
          return;
        }
        // not the database's state but one event it refuses: the others must not wait behind it forever
        if (!(await this.writeOneByOne(batch))) return;
      }
      this.inFlight = 0;
    }
  }

  private async write(events: AuditEvent[]): Promise<void> {
    await this.store.transaction((tx) => this.journal.append(tx, events));
  }

  private retryLater(err: unknown): void {
    this.failures++;
    const wait = Math.min(MAX_RETRY_MS, this.retryMs * 2 ** (this.failures - 1));
    const msg = 'audit batch not written; kept and written again later';
    this.log({ level: 'error', msg, queued: this.queued, retryMs: wait, error: String(err) });
    this.timer = setTimeout(() => void this.flush(), wait).unref();
  }

  /**
   * Each event in a transaction of its own; one the database refuses goes to the log whole, not lost.
   * False when the database went away meanwhile (the rest is queued again for the retry).
   */
  private async writeOneByOne(batch: AuditEvent[]): Promise<boolean> {
    for (const [i, event] of batch.entries()) {
      try {
        await this.write([event]);
      } catch (err) {
        if (storageFault(err)) {
          this.queue.unshift(...batch.slice(i));
          this.retryLater(err);
          return false;
        }
        const msg = 'audit event the database refused; kept in this log instead';
        this.log({ level: 'error', msg, event, error: String(err) });
      }
    }
    return true;
  }
}

/** Stores an AuditEvent (or Provenance) as the server: no validation, no reactions, no audit of the audit. */
export function writeAudit(store: ResourceStore, tx: Tx, resource: AuditEvent | Provenance): Promise<VersionRow> {
  return store.write(tx, resource.resourceType, newId(), undefined, resource, 'POST');
}
