import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

type Json = Record<string, unknown>;
interface Entry {
  fullUrl?: unknown;
  resource?: Json;
}

/** `[base]/Type/id` with an optional `/_history/vid`: a RESTful URL (R4 §2.36.4). */
const RESTFUL = /^(.+)\/([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/([A-Za-z0-9.-]{1,64}))?$/;
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/([A-Za-z0-9.-]{1,64}))?$/;
/** Bundles that stand alone: their references are meant to resolve inside them (R4 documents.html, messaging.html). */
const SELF_CONTAINED = new Set(['document', 'message']);

/**
 * Bundle rules of R4 §2.36.4 (bundle.html, "Resource URL & Uniqueness rules" and "Resolving
 * references in Bundles"): a RESTful fullUrl agrees with the resource's type and id; in a document or
 * message a reference resolves to exactly one entry — a relative `Type/id` against the base of the
 * referencing entry's fullUrl, a versioned one to the entry with that `meta.versionId`, a urn: or
 * absolute one by fullUrl. One error per fullUrl or reference at fault.
 */
export function bundleReferenceIssues(bundle: Json, path: string): OperationOutcomeIssue[] {
  const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as Entry[];
  const out: OperationOutcomeIssue[] = [];
  entries.forEach((e, i) => {
    const m = typeof e?.fullUrl === 'string' ? RESTFUL.exec(e.fullUrl) : null;
    const r = e?.resource;
    // R4 Bundle.entry.fullUrl says SHALL, yet the specification's own message and collection examples
    // break it (Patient pat2 at …/Patient/pat12): a warning, so that such Bundles are still stored
    if (m && r && typeof r.id === 'string' && (m[2] !== r.resourceType || m[3] !== r.id))
      out.push(
        issue(
          'warning',
          `The fullUrl '${String(e.fullUrl)}' looks RESTful but does not end with the resource's type and id (${String(r.resourceType)}/${r.id})`,
          `${path}.entry[${i}].fullUrl`,
        ),
      );
  });
  if (!SELF_CONTAINED.has(bundle.type as string)) return out;
  entries.forEach((e, i) => {
    if (!e?.resource) return;
    const base = typeof e.fullUrl === 'string' ? RESTFUL.exec(e.fullUrl)?.[1] : undefined;
    for (const { reference, at } of references(e.resource, `${path}.entry[${i}].resource`)) {
      const found = resolve(entries, reference, base);
      if (found === undefined) continue;
      // a document SHALL carry what it references (R4 documents.html); a message SHOULD (its examples do not)
      const severity = bundle.type === 'document' ? 'error' : 'warning';
      if (found === 0)
        out.push(
          issue(
            severity,
            `The reference '${reference}' does not resolve to an entry of the ${String(bundle.type)} Bundle`,
            at,
          ),
        );
      else if (found > 1)
        out.push(issue('error', `The reference '${reference}' matches ${found} entries of the Bundle`, at));
    }
  });
  return out;
}

/** How many entries a reference resolves to; undefined when it need not resolve inside the Bundle. */
function resolve(entries: Entry[], reference: string, base: string | undefined): number | undefined {
  const rel = RELATIVE.exec(reference);
  let url = reference;
  let version: string | undefined;
  if (rel) {
    if (!base) return undefined; // relative to a urn: fullUrl: a reference to a server, not the Bundle
    url = `${base}/${rel[1]}/${rel[2]}`;
    version = rel[3];
  } else if (!reference.startsWith('urn:')) {
    const abs = RESTFUL.exec(reference);
    if (!abs) return undefined;
    url = `${abs[1]}/${abs[2]}/${abs[3]}`;
    version = abs[4];
    // an absolute reference to another server need not be in the Bundle
    if (!entries.some((e) => e.fullUrl === url)) return undefined;
  }
  return entries.filter(
    (e) =>
      e.fullUrl === url &&
      (version === undefined || (e.resource?.meta as { versionId?: unknown } | undefined)?.versionId === version),
  ).length;
}

/** Every `reference` of a resource (not local `#` ones), with its FHIRPath location. */
function references(node: unknown, path: string, into: { reference: string; at: string }[] = []) {
  if (Array.isArray(node)) node.forEach((v, i) => references(v, `${path}[${i}]`, into));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === 'reference' && typeof v === 'string' && !v.startsWith('#')) into.push({ reference: v, at: path });
      else if (k !== 'contained' && typeof v === 'object') references(v, `${path}.${k}`, into);
    }
  }
  return into;
}

function issue(
  severity: OperationOutcomeIssue['severity'],
  diagnostics: string,
  expression: string,
): OperationOutcomeIssue {
  return { severity, code: 'business-rule', diagnostics, expression: [expression] };
}
