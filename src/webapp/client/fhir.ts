import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';

/** What signing in gave (nothing with authentication off): the token and the SMART launch context. */
export interface Session {
  token?: string;
  /** `Patient/…` or a bare id: a `patient/` token's patient. */
  patient?: string;
  /** The signed-in user, e.g. `Practitioner/koordinator`. */
  fhirUser?: string;
  /** HelseID: the signed-in person's HPR number (the access token's `hpr_number` claim), for "mine". */
  hprNumber?: string;
  scope?: string;
}

/** A refusal from the server: its status and OperationOutcome (shown next to the field it names). */
export class OutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome | undefined,
  ) {
    super(outcome?.issue?.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join(' ') || `HTTP ${status}`);
  }
}

/** The FHIR API on this origin; every request the app makes goes through it (so scopes and audit apply). */
export class Fhir {
  /** The server's clock at its last search answer (Bundle.meta.lastUpdated): "today" is the server's. */
  serverNow?: Date;

  constructor(
    readonly base: string,
    readonly session: Session,
  ) {}

  /** A path below the base (`CarePlan?…`), or an absolute link the server gave (a page's `next`). */
  url(path: string): string {
    if (/^https?:/.test(path)) {
      const u = new URL(path);
      return `${location.origin}${u.pathname}${u.search}`;
    }
    return `${this.base}/${path}`;
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const h: Record<string, string> = { Accept: 'application/fhir+json', ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/fhir+json';
    if (this.session.token) h.Authorization = `Bearer ${this.session.token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = await fetch(this.url(path), { method, headers: h, body: payload });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as T & Resource) : undefined;
    if (!res.ok) throw new OutcomeError(res.status, json as OperationOutcome | undefined);
    return json as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** Every match of a search, page after page (`next` links), up to `max` resources. */
  async searchAll<T extends Resource = Resource>(path: string, max = 100_000): Promise<T[]> {
    const out: T[] = [];
    let next: string | undefined = path;
    while (next && out.length < max) {
      const page: Bundle = await this.get<Bundle>(next);
      if (page.meta?.lastUpdated) this.serverNow = new Date(page.meta.lastUpdated);
      for (const e of page.entry ?? []) if (e.resource) out.push(e.resource as T);
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
    return out;
  }
}

/** The resources of a search Bundle by `Type/id`. */
export function byReference<T extends Resource>(resources: T[]): Map<string, T> {
  return new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
}
