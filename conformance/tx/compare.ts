/**
 * Compares a server's answer with an expected response of the HL7 terminology tests, which are
 * templates (tx-ecosystem IG, "Test Templates"): `$id$`-style placeholders, `$choice:…$`,
 * `$fragments:…$`, `$external:N:…$` (checked by its fragments: we run without an externals
 * file), `$optional-properties$`, `$count-arrays$`, and array items marked `$optional$`.
 *
 * The rules are those of HL7's own runner (TxTester, CompareUtilities, TxTesterScrubbers and
 * TxTesterSorters in org.hl7.fhir.core), rewritten here: properties the template does not name
 * are differences (`location` too: it is compared like any other property), a missing property is
 * fine when the template lists it in `$optional-properties$` or when its array has no object item
 * without `$optional$`. One difference on purpose: array items are matched in any order (the
 * suite's readme: "array order never matters"), where HL7 sorts the answer and pairs items in turn.
 */
export interface CompareOptions {
  /** Runner modes in force, e.g. `general` (and `flat`). */
  modes: Set<string>;
  /** The server's FHIR version, e.g. 4.0.1. */
  fhirVersion: string;
  /** Only check that the template's content is present (metadata tests). */
  subset?: boolean;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const PATTERNS: Record<string, RegExp> = {
  $instant$: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
  $uuid$: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  $id$: /^[A-Za-z0-9\-.]{1,64}$/,
  $url$: /^\S+:\S+$/,
  $token$: /^\S+$/,
  // CompareUtilities: any string without leading or trailing whitespace (the empty one too)
  $string$: /^(\S(.*\S)?)?$/s,
  $date$: /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/,
  $semver$: /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/,
};

function fragmentsMatch(actual: string, list: string): boolean {
  return list.split('|').every((f) => actual.toLowerCase().includes(f.toLowerCase()));
}

function stringMatches(expected: string, actual: string, o: CompareOptions): boolean {
  const exp =
    expected.includes('$version$') && expected !== '$version$'
      ? expected.replaceAll('$version$', o.fhirVersion)
      : expected;
  if (!(exp.startsWith('$') && exp.endsWith('$') && exp.length > 1)) return exp === actual;
  if (exp === '$$') return true;
  if (exp === '$version$') return actual === o.fhirVersion;
  if (exp.startsWith('$choice:')) return exp.slice(8, -1).split('|').includes(actual);
  if (exp.startsWith('$fragments:')) return fragmentsMatch(actual, exp.slice(11, -1));
  if (exp.startsWith('$external:')) {
    const rest = exp.slice(10, -1);
    const colon = rest.indexOf(':');
    return colon < 0 ? true : fragmentsMatch(actual, rest.slice(colon + 1));
  }
  const re = PATTERNS[exp];
  return re ? re.test(actual) : exp === actual;
}

/** Whether a `$optional$` filter holds for this run (CompareUtilities.passesOptionalFilter). */
function filterHolds(filter: Json, o: CompareOptions): boolean {
  if (filter === true) return true;
  if (typeof filter !== 'string') return false;
  if (filter.startsWith('warning:')) return true;
  if (filter.startsWith('version:')) return o.fhirVersion.startsWith(filter.slice(8));
  if (filter.startsWith('!')) return !o.modes.has(filter.slice(1));
  return o.modes.has(filter);
}

function isObject(v: Json): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns null when `actual` matches the template `expected`, else where and how it differs. */
export function compare(expected: Json, actual: Json, o: CompareOptions, path = ''): string | null {
  if (typeof expected === 'string') {
    if (typeof actual !== 'string') return `${path}: expected a string, got ${JSON.stringify(actual)}`;
    return stringMatches(expected, actual, o)
      ? null
      : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array`;
    return compareArrays(expected, actual, o, path);
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const optional = new Set((expected['$optional-properties$'] as string[] | undefined) ?? []);
    const countOnly = new Set((expected['$count-arrays$'] as string[] | undefined) ?? []);
    if (!o.subset) {
      for (const k of Object.keys(actual)) {
        // a property the template lists as optional but does not show may be present with any value
        if (!(k in expected) && !optional.has(k) && !optional.has('*'))
          return `${path}: unexpected property ${k} (${JSON.stringify(actual[k]).slice(0, 200)})`;
      }
    }
    for (const [k, v] of Object.entries(expected)) {
      if (k.startsWith('$') && k.endsWith('$')) continue;
      if (!(k in actual)) {
        if (optional.has(k) || optional.has('*')) continue;
        // CompareUtilities.allOptional: an array whose object items all carry `$optional$` (whatever
        // its filter) may be missing; primitive items do not count (so `"$optional": [...]` passes)
        if (Array.isArray(v) && v.every((item) => !isObject(item) || '$optional$' in item)) continue;
        return `${path}: missing property ${k}`;
      }
      if (countOnly.has(k)) {
        const a = actual[k];
        if (!Array.isArray(v) || !Array.isArray(a) || a.length !== v.length)
          return `${path}.${k}: expected ${Array.isArray(v) ? v.length : '?'} items`;
        continue;
      }
      const diff = compare(v, actual[k], o, `${path}.${k}`);
      if (diff) return diff;
    }
    return null;
  }
  return expected === actual ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

function compareArrays(expected: Json[], actual: Json[], o: CompareOptions, path: string): string | null {
  const items: { value: Json; optional: boolean }[] = [];
  for (const e of expected) {
    items.push({ value: e, optional: isObject(e) && '$optional$' in e && filterHolds(e.$optional$, o) });
  }
  const used = new Set<number>();
  // required items first, so an optional one cannot take the actual item a required one needs
  const order = [...items.keys()].sort((a, b) => Number(items[a].optional) - Number(items[b].optional));
  for (const i of order) {
    const { value, optional } = items[i];
    let firstDiff: string | null = null;
    const j = actual.findIndex((a, k) => {
      if (used.has(k)) return false;
      const d = compare(value, a, o, `${path}[${k}]`);
      if (d && firstDiff === null) firstDiff = d;
      return d === null;
    });
    if (j >= 0) used.add(j);
    else if (!optional)
      return actual.length === 1 || firstDiff === null
        ? (firstDiff ?? `${path}: missing item ${JSON.stringify(value).slice(0, 300)}`)
        : `${path}: no item matches ${JSON.stringify(value).slice(0, 300)} (first difference: ${firstDiff})`;
  }
  if (!o.subset && used.size < actual.length) {
    const extra = actual.findIndex((_, k) => !used.has(k));
    return `${path}[${extra}]: unexpected item ${JSON.stringify(actual[extra]).slice(0, 300)}`;
  }
  return null;
}

/**
 * Extensions the reference runner keeps when it compares (TxTesterScrubbers.isManagedExtension, not
 * "tight"): any other extension with an absolute url is removed from ValueSets and
 * OperationOutcomes in the answer first, except inside a ValueSet's compose.
 */
const MANAGED_EXTENSIONS = new Set(
  [
    'codesystem-alternate',
    'codesystem-conceptOrder',
    'codesystem-label',
    'coding-sctdescid',
    'structuredefinition-standards-status',
    'itemWeight',
    'rendering-style',
    'rendering-xhtml',
    'translation',
    'valueset-concept-definition',
    'valueset-conceptOrder',
    'valueset-deprecated',
    'valueset-label',
    'valueset-supplement',
    'alternate-code-use',
    'alternate-code-status',
    'operationoutcome-message-id',
    'valueset-unclosed',
    'valueset-unclosed-reason',
  ].map((n) => `http://hl7.org/fhir/StructureDefinition/${n}`),
);
const MANAGED_TEST_URLS = [
  'CodeSystem/de-multi',
  'CodeSystem/en-multi',
  'StructureDefinition/unknown-extension-1',
  'StructureDefinition/unknown-extension-3',
  'StructureDefinition/unknown-extension-4',
  'StructureDefinition/unknown-extension-5',
  'ValueSet/extensions-bad-supplement',
  'ValueSet/simple-all',
  'ValueSet/simple-enumerated',
  'ValueSet/simple-filter-isa',
];
for (const u of MANAGED_TEST_URLS) MANAGED_EXTENSIONS.add(`http://hl7.org/fhir/test/${u}`);

function managed(ext: Json): boolean {
  const url = isObject(ext) ? ext.url : undefined;
  return typeof url !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(url) || MANAGED_EXTENSIONS.has(url);
}

/** Removes unmanaged extensions at every level below `value`, but not inside a ValueSet's compose. */
function scrubExtensions(value: Json, key = ''): void {
  if (Array.isArray(value)) {
    for (const v of value) scrubExtensions(v);
    return;
  }
  if (!isObject(value) || key === 'compose') return;
  if (Array.isArray(value.extension)) {
    value.extension = value.extension.filter(managed);
    if (!value.extension.length) delete value.extension;
  }
  for (const [k, v] of Object.entries(value)) scrubExtensions(v, k);
}

function scrubDomainResource(r: { [k: string]: Json }): void {
  delete r.text;
  delete r.meta;
  scrubExtensions(r);
}

/** TxTesterScrubbers.scrubOperationOutcome: diagnostics are not compared, nor issues that only have them. */
function scrubOperationOutcome(oo: { [k: string]: Json }): void {
  scrubDomainResource(oo);
  if (!Array.isArray(oo.issue)) return;
  oo.issue = oo.issue.filter((i) => !(isObject(i) && 'diagnostics' in i && !('details' in i)));
  for (const i of oo.issue)
    if (isObject(i) && typeof i.diagnostics === 'string' && !i.diagnostics.toLowerCase().includes('x-request-id'))
      delete i.diagnostics;
}

/**
 * TxTesterScrubbers.scrubParameters and TxTesterSorters.sortParameters: no meta, no `diagnostics`
 * parameter, resources inside scrubbed by type, and a `message` made of several `; `-separated
 * messages put in sorted order (the templates list them sorted).
 */
function scrubParameters(p: { [k: string]: Json }): void {
  delete p.meta;
  if (!Array.isArray(p.parameter)) return;
  p.parameter = p.parameter.filter((x) => !(isObject(x) && x.name === 'diagnostics'));
  for (const x of p.parameter) {
    if (!isObject(x)) continue;
    if (isObject(x.resource)) scrub(x.resource);
    if (x.name === 'message' && typeof x.valueString === 'string' && x.valueString.includes('; '))
      x.valueString = x.valueString.split('; ').sort().join('; ');
  }
}

/** The answer as the reference runner compares it (TxTesterScrubbers), changed in place. */
export function scrub(value: Json): void {
  if (!isObject(value)) return;
  switch (value.resourceType) {
    case 'Parameters':
      return scrubParameters(value);
    case 'ValueSet':
      return scrubDomainResource(value);
    case 'OperationOutcome':
      return scrubOperationOutcome(value);
    case 'Bundle':
      for (const e of Array.isArray(value.entry) ? value.entry : []) if (isObject(e)) scrub(e.resource);
  }
}
