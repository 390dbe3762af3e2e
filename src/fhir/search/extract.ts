import { compile } from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import type { Definitions } from '../definitions.js';
import { dateRange, MAX_TIME, MIN_TIME } from './dates.js';
import { normalizeString } from './normalize.js';
import { dateKey } from './date-classes.js';
import type { SqlValue } from '../../storage/types.js';
import { plainPath, splitUnion } from './plain-path.js';

/**
 * Extracts search index rows from a resource when it is written, by evaluating each SearchParameter's
 * FHIRPath `expression` (compiled once per resource type) and turning the values into rows of the
 * index table of the parameter's type. Values are recognised by their FHIR shape (Coding,
 * CodeableConcept, Identifier, Period, Quantity, …), so no per-type code is needed.
 */
export type IndexTable = 'sp_token' | 'sp_string' | 'sp_reference' | 'sp_date' | 'sp_number' | 'sp_quantity' | 'sp_uri';

/** Columns after (rid, type, param) for each index table. */
export const INDEX_COLUMNS: Record<IndexTable, readonly string[]> = {
  sp_token: ['system', 'code', 'text', 'grp'],
  sp_string: ['norm', 'exact', 'grp'],
  sp_reference: ['target_type', 'target_id', 'url', 'grp'],
  sp_date: ['low', 'high', 'grp'],
  sp_number: ['low', 'high', 'grp'],
  sp_quantity: ['system', 'code', 'low', 'high', 'grp'],
  sp_uri: ['value', 'grp'],
};

export const TABLE_OF: Partial<Record<string, IndexTable>> = {
  token: 'sp_token',
  string: 'sp_string',
  reference: 'sp_reference',
  date: 'sp_date',
  number: 'sp_number',
  quantity: 'sp_quantity',
  uri: 'sp_uri',
};

export interface IndexRow {
  table: IndexTable;
  param: string;
  values: SqlValue[];
}

interface CompiledParam {
  code: string;
  table: IndexTable;
  evaluate: (resource: Resource) => unknown[];
}

/** A composite parameter: a root expression, and per component an expression relative to each root. */
interface CompiledComposite {
  code: string;
  /** Each root value with the component expressions compiled for its path. */
  roots: (resource: Resource) => { node: unknown; components: { table: IndexTable; fn: (node: never) => unknown }[] }[];
}

interface CompiledType {
  simple: CompiledParam[];
  composite: CompiledComposite[];
}

export class IndexExtractor {
  private readonly byType = new Map<string, CompiledType>();
  /** Parameters whose expression fhirpath.js could not compile: reported, not indexed. */
  readonly skipped: string[] = [];

  constructor(private readonly defs: Definitions) {}

  /** Forget the compiled expressions of these types (their search parameters changed). */
  invalidate(types: string[]): void {
    for (const t of types) this.byType.delete(t);
  }

  private compiled(type: string): CompiledType {
    let compiled = this.byType.get(type);
    if (compiled) return compiled;
    compiled = { simple: [], composite: [] };
    const params = this.defs.searchParams.get(type) ?? new Map<string, SearchParameter>();
    for (const [code, sp] of params) {
      const expression = expressionFor(sp, type);
      if (!expression || code === '_id' || code === '_lastUpdated') continue;
      try {
        if (sp.type === 'composite') {
          const composite = this.compileComposite(code, sp, expression, params);
          if (composite) compiled.composite.push(composite);
          continue;
        }
        const table = TABLE_OF[sp.type as string];
        if (!table) continue;
        compiled.simple.push({ code, table, evaluate: this.evaluator(type, expression) });
      } catch {
        this.skipped.push(`${type}.${code}`);
      }
    }
    this.byType.set(type, compiled);
    return compiled;
  }

  /** A plain path walked over the JSON (plain-path.ts), or the expression compiled by fhirpath.js. */
  private evaluator(type: string, expression: string): CompiledParam['evaluate'] {
    const plain = plainPath(this.defs, type, expression);
    if (plain) return plain;
    const fn = compile(expression, r4model);
    return (r) => fn(r as never) as unknown[];
  }

  /**
   * Components are evaluated on each root value, with the root's path as their base (for choice
   * types). A root may be a union of plain paths (`Observation | Observation.component`).
   */
  private compileComposite(
    code: string,
    sp: SearchParameter,
    expression: string,
    params: ReadonlyMap<string, SearchParameter>,
  ): CompiledComposite | undefined {
    const bases = splitUnion(expression);
    if (!bases.every((b) => /^[A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)*$/.test(b))) return undefined;
    const defs = (sp.component ?? []).map((c) => ({
      c,
      def: [...params.values()].find((p) => p.url === c.definition),
    }));
    if (!defs.length || defs.some(({ c, def }) => !def || !TABLE_OF[def.type as string] || !c.expression))
      return undefined;
    const parts = bases.map((base) => ({
      root: compile(base, r4model),
      components: defs.map(({ c, def }) => ({
        table: TABLE_OF[def!.type as string]!,
        fn: compile({ base, expression: c.expression! }, r4model),
      })),
    }));
    return {
      code,
      roots: (r) =>
        parts.flatMap((p) => (p.root(r as never) as unknown[]).map((node) => ({ node, components: p.components }))),
    };
  }

  extract(resource: Resource): IndexRow[] {
    const rows: IndexRow[] = [];
    const { simple, composite } = this.compiled(resource.resourceType);
    for (const p of simple) {
      let values: unknown[];
      try {
        values = p.evaluate(resource);
      } catch {
        continue; // an expression that fails on odd data indexes nothing rather than refusing the write
      }
      const seen = new Set<string>();
      const push = (row: IndexRow) => {
        const key = `${row.param}\u0000${row.values.join('\u0000')}`;
        if (seen.has(key)) return;
        seen.add(key);
        rows.push(row);
      };
      for (const v of values) {
        for (const cols of toColumns(p.table, v)) {
          const param = p.table === 'sp_date' ? dateKey(p.code, cols[0] as number, cols[1] as number) : p.code;
          push({ table: p.table, param, values: [...cols, null] });
        }
        for (const row of modifierRows(p, v)) push(row);
      }
    }
    for (const c of composite) rows.push(...compositeRows(c, resource));
    return rows;
  }
}

/**
 * A composite parameter's rows: for root value i, each component j's values under `code$j` with
 * grp = i, so a query can require all components to come from the same root (R4 §3.1.1.4.8).
 */
function compositeRows(c: CompiledComposite, resource: Resource): IndexRow[] {
  const rows: IndexRow[] = [];
  let roots: ReturnType<CompiledComposite['roots']>;
  try {
    roots = c.roots(resource);
  } catch {
    return rows;
  }
  roots.forEach(({ node, components }, i) => {
    components.forEach((comp, j) => {
      let values: unknown[] = [];
      try {
        values = comp.fn(node as never) as unknown[];
      } catch {
        // a component that cannot be evaluated on this root indexes nothing
      }
      for (const v of values)
        for (const cols of toColumns(comp.table, v))
          rows.push({ table: comp.table, param: `${c.code}$${j}`, values: [...cols, i] });
    });
  });
  return rows;
}

/**
 * Extra token rows for two modifiers, under their own parameter ids: `code:of-type` holds an
 * Identifier's type coding with its value (R4 §3.1.1.4.9 `:of-type`), `code:identifier` a Reference's
 * logical identifier (§3.1.1.4.10 `:identifier`).
 */
function modifierRows(p: { code: string; table: IndexTable }, v: unknown): IndexRow[] {
  if (!isObj(v)) return [];
  if (p.table === 'sp_token' && typeof v.value === 'string' && isObj(v.type) && Array.isArray(v.type.coding)) {
    return v.type.coding.filter(isObj).map((c) => ({
      table: 'sp_token',
      param: `${p.code}:of-type`,
      values: [str(c.system), str(c.code), v.value as string, null],
    }));
  }
  if (p.table === 'sp_reference' && isObj(v.identifier) && typeof v.identifier.value === 'string') {
    return [
      {
        table: 'sp_token',
        param: `${p.code}:identifier`,
        values: [str(v.identifier.system), v.identifier.value, null, null],
      },
    ];
  }
  return [];
}

/**
 * The part of a (possibly multi-type) expression that applies to one resource type, rewritten for
 * fhirpath.js: `resolve() is X` becomes a test on the reference string, since index extraction does
 * not resolve references.
 */
export function expressionFor(sp: SearchParameter, type: string): string | undefined {
  const expr = sp.expression;
  if (!expr) return undefined;
  const parts = splitUnion(expr).filter((part) => {
    const head = part.replace(/^\(+/, '').split(/[.(\s]/)[0];
    return head === type || head === 'Resource' || head === 'DomainResource' || !/^[A-Z]/.test(head);
  });
  if (!parts.length) return undefined;
  return parts.join(' | ').replace(/resolve\(\)\s+is\s+([A-Za-z]+)/g, "reference.startsWith('$1/')");
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const norm = (s: string | null): string | null => (s === null ? null : normalizeString(s));
/** UTF-16 units of a string parameter's index key: at most 1,536 bytes of UTF-8. */
const STRING_KEY_LENGTH = 512;
const str = (v: unknown): string | null => (typeof v === 'string' && v.length ? v : null);

function toColumns(table: IndexTable, v: unknown): SqlValue[][] {
  switch (table) {
    case 'sp_token':
      return tokenColumns(v);
    case 'sp_string':
      // the indexed key is a prefix: PostgreSQL refuses a B-tree row over ~2.7 kB, and R4 strings reach 1 MB
      // (a search value longer than the prefix, or :contains past it, finds nothing; :exact reads `exact`)
      return stringValues(v).map((s) => [normalizeString(s).slice(0, STRING_KEY_LENGTH), s]);
    case 'sp_reference':
      return referenceColumns(v);
    case 'sp_date':
      return dateColumns(v);
    case 'sp_number':
      return typeof v === 'number' ? [[v, v]] : isObj(v) && typeof v.value === 'number' ? [[v.value, v.value]] : [];
    case 'sp_quantity':
      return quantityColumns(v);
    case 'sp_uri':
      return typeof v === 'string' ? [[v]] : [];
  }
}

function tokenColumns(v: unknown): SqlValue[][] {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [[null, String(v), null]];
  if (!isObj(v)) return [];
  if (Array.isArray(v.coding) || 'text' in v) {
    // CodeableConcept: one row per coding, its text kept for :text
    const text = str(v.text);
    const codings = (Array.isArray(v.coding) ? v.coding : []).filter(isObj);
    const rows = codings.map((c) => [str(c.system), str(c.code), norm(text ?? str(c.display))]);
    if (!rows.length && text) rows.push([null, null, norm(text)]);
    return rows;
  }
  if ('value' in v && ('system' in v || 'type' in v || 'use' in v || 'period' in v || 'assigner' in v)) {
    // Identifier (system|value) or ContactPoint (its value, with phone/email/... as system)
    const type = isObj(v.type) ? norm(str(v.type.text)) : null;
    return [[str(v.system), str(v.value), type]];
  }
  if ('code' in v || 'system' in v) return [[str(v.system), str(v.code), norm(str(v.display))]];
  if (typeof v.value === 'string' || typeof v.value === 'boolean') return [[null, String(v.value), null]];
  return [];
}

const NAME_PARTS = [
  'text',
  'family',
  'given',
  'prefix',
  'suffix',
  'line',
  'city',
  'district',
  'state',
  'postalCode',
  'country',
];

function stringValues(v: unknown): string[] {
  if (typeof v === 'string') return v ? [v] : [];
  if (!isObj(v)) return [];
  const out: string[] = [];
  for (const k of NAME_PARTS) {
    const x = v[k];
    if (typeof x === 'string' && x) out.push(x);
    else if (Array.isArray(x)) for (const y of x) if (typeof y === 'string' && y) out.push(y);
  }
  if (!out.length && typeof v.value === 'string') out.push(v.value);
  return out;
}

const RELATIVE_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE_REF = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export function parseReference(ref: string): { type: string; id: string } | undefined {
  const m = RELATIVE_REF.exec(ref) ?? (/^https?:\/\//.test(ref) ? ABSOLUTE_REF.exec(ref) : null);
  return m ? { type: m[1], id: m[2] } : undefined;
}

function referenceColumns(v: unknown): SqlValue[][] {
  const ref = typeof v === 'string' ? v : isObj(v) ? str(v.reference) : null;
  if (!ref || ref.startsWith('#')) return [];
  const parsed = parseReference(ref);
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(ref);
  // a canonical's |version is left out, as the matcher leaves it out of the search value (R4 search: canonical)
  const url = absolute ? ref.replace(/\/_history\/.*$/, '').replace(/\|.*$/, '') : null;
  return [[parsed?.type ?? null, parsed?.id ?? null, url]];
}

function dateColumns(v: unknown): SqlValue[][] {
  if (typeof v === 'string') {
    const r = dateRange(v);
    return r ? [[r.low, r.high]] : [];
  }
  if (!isObj(v)) return [];
  if ('start' in v || 'end' in v) {
    const low = typeof v.start === 'string' ? dateRange(v.start)?.low : undefined;
    const high = typeof v.end === 'string' ? dateRange(v.end)?.high : undefined;
    if (low === undefined && high === undefined) return [];
    return [[low ?? MIN_TIME, high ?? MAX_TIME]];
  }
  if (Array.isArray(v.event)) return v.event.flatMap((e) => dateColumns(e));
  return [];
}

function quantityColumns(v: unknown): SqlValue[][] {
  if (!isObj(v)) return [];
  if (typeof v.value === 'number') {
    return [[str(v.system), str(v.code) ?? str(v.unit), v.value, v.value]];
  }
  if (isObj(v.low) || isObj(v.high)) {
    const lo = isObj(v.low) && typeof v.low.value === 'number' ? v.low.value : -Number.MAX_VALUE;
    const hi = isObj(v.high) && typeof v.high.value === 'number' ? v.high.value : Number.MAX_VALUE;
    const unitOf = isObj(v.low) ? v.low : isObj(v.high) ? v.high : {};
    return [[str((unitOf as Obj).system), str((unitOf as Obj).code) ?? str((unitOf as Obj).unit), lo, hi]];
  }
  return [];
}
