/**
 * R4 invariants that run on nearly every resource or Bundle entry, with a native fast path for the
 * cases that decide them without FHIRPath: fhirpath.js costs ~10–30 µs an evaluation, and a
 * 10,000-entry Bundle evaluates these some 50,000 times. Each function returns the invariant's
 * result, or undefined where the case is not plain (a contained resource, a local reference, a Bundle
 * without a type), and FHIRPath then decides as before. Keyed by the exact expression text of the R4
 * definitions, so a profile's own variant, or a changed definition, still runs as FHIRPath; the
 * equivalence with fhirpath.js is tested case by case (test/validation/native-invariants.test.ts).
 */
export type NativeInvariant = (node: unknown, root: unknown) => boolean | undefined;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const present = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
/** Every string value in a JSON tree starting with '#' (local references), into `into`. */
function strings(v: unknown, into: Set<string>): void {
  if (typeof v === 'string') {
    if (v.startsWith('#')) into.add(v);
  } else if (Array.isArray(v)) for (const x of v) strings(x, into);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, into);
}

/** %resource.descendants() includes the other contained resources: one of them may refer to this one. */
function siblingRefers(contained: unknown[], self: unknown, id: string): boolean {
  return contained.some((other) => {
    if (other === self) return false;
    const found = new Set<string>();
    strings(other, found);
    return found.has(`#${id}`);
  });
}

/** dom-2 … dom-5 hold trivially for a resource without contained resources. */
const noContained: NativeInvariant = (node) => (present(obj(node).contained) ? undefined : true);
/** bdl-3 / bdl-4: every entry has `part` exactly when the Bundle's type is one of `types`. */
const entriesMatchType =
  (part: 'request' | 'response', types: string[]): NativeInvariant =>
  (node, root) => {
    const type = obj(root).type; // %resource.type
    if (typeof type !== 'string') return undefined;
    return list(obj(node).entry).every((e) => present(obj(e)[part]) === types.includes(type));
  };

export const NATIVE_INVARIANTS: Record<string, NativeInvariant> = {
  // bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different
  // meta.versionId (except in history bundles) — quadratic in fhirpath.js (isDistinct compares every pair)
  "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()": (
    node,
  ) => {
    const b = obj(node) as {
      type?: string;
      entry?: { fullUrl?: string; resource?: { meta?: { versionId?: string } } }[];
    };
    if (b.type === 'history') return true;
    const seen = new Set<string>();
    for (const e of b.entry ?? []) {
      if (e?.fullUrl === undefined) continue;
      const key = `${e.fullUrl}\u0000${e.resource?.meta?.versionId ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
    }
    return true;
  },
  // bdl-3: entry.request mandatory for batch/transaction/history, otherwise prohibited
  "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))":
    entriesMatchType('request', ['batch', 'transaction', 'history']),
  // bdl-4: entry.response mandatory for batch-response/transaction-response/history, otherwise prohibited
  "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))":
    entriesMatchType('response', ['batch-response', 'transaction-response', 'history']),
  // bdl-5: must be a resource unless there's a request or response
  'resource.exists() or request.exists() or response.exists()': (node) =>
    ['resource', 'request', 'response'].some((k) => present(obj(node)[k])),
  // bdl-8: fullUrl cannot be a version specific reference
  "fullUrl.exists() implies fullUrl.contains('/_history/').not()": (node) => {
    const url = obj(node).fullUrl;
    if (url === undefined || url === null) return true;
    return typeof url === 'string' ? !url.includes('/_history/') : undefined;
  },
  // ref-1: a local reference (#id) must point to a contained resource; any other reference holds
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))":
    (node) => {
      const ref = obj(node).reference;
      if (ref === undefined || ref === null) return true;
      return typeof ref === 'string' && !ref.startsWith('#') ? true : undefined;
    },
  'contained.contained.empty()': noContained,
  // dom-3: a contained resource is referred to from elsewhere in the resource, or refers to it ('#').
  // Always decided here: fhirpath.js throws on `descendants().as(canonical)` (a collection before `as`),
  // which left the rule unchecked. Any string '#id' outside the contained resource counts as a reference
  // (reference, canonical, uri, url), as the expression's union of the four does.
  "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()":
    (node) => {
      const contained = list(obj(node).contained);
      if (!contained.length) return true;
      const outside = new Set<string>();
      strings({ ...obj(node), contained: undefined }, outside);
      return contained.every((c) => {
        const inner = new Set<string>();
        strings({ ...obj(c), id: undefined }, inner);
        const id = obj(c).id;
        return inner.has('#') || (typeof id === 'string' && (outside.has(`#${id}`) || siblingRefers(contained, c, id)));
      });
    },
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()': noContained,
  'contained.meta.security.empty()': noContained,
};
