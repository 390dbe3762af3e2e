import type { SearchParameter } from '@medplum/fhirtypes';
import type { Definitions } from '../definitions.js';
import { FhirError } from '../errors.js';
import { MAX_CHAIN_LINKS, MAX_CHAIN_TARGETS, MAX_OR_VALUES, tooCostly } from './limits.js';
import { BUILTIN, MODIFIERS, splitModifier, splitValues, type Criterion } from './params.js';

/** What the parsing of one parameter may still spend: target types searched over its chain links. */
interface Budget {
  targets: number;
}

/**
 * One search parameter of the query (name and value) as a Criterion, or undefined when the name is
 * not a parameter of the type. Handles plain parameters with their modifiers, chains (R4 §3.1.1.4.11:
 * `subject:Patient.organization.name=x`) and reverse chains (§3.1.1.4.12: `_has`) up to
 * MAX_CHAIN_LINKS links and MAX_CHAIN_TARGETS target types, and up to MAX_OR_VALUES OR-ed values.
 */
export function parseCriterion(defs: Definitions, type: string, rawName: string, value: string): Criterion | undefined {
  // counted from the name before anything is parsed: a chain's cost grows with every link
  const links = (rawName.match(/\./g) ?? []).length + (rawName.match(/(^|[:.])_has:/g) ?? []).length;
  if (links > MAX_CHAIN_LINKS) {
    const message = `'${rawName}' follows ${links} links; a search may follow at most ${MAX_CHAIN_LINKS}`;
    throw tooCostly(`${message} (chains and _has together)`, rawName);
  }
  return parseAt(defs, type, rawName, value, rawName, { targets: MAX_CHAIN_TARGETS });
}

function parseAt(
  defs: Definitions,
  type: string,
  rawName: string,
  value: string,
  where: string,
  budget: Budget,
): Criterion | undefined {
  if (rawName.startsWith('_has:')) return parseHas(defs, type, rawName, value, where, budget);
  const dot = rawName.indexOf('.');
  if (dot > 0) return parseChain(defs, type, rawName.slice(0, dot), rawName.slice(dot + 1), value, where, budget);

  const [code, modifier] = splitModifier(rawName);
  const params = defs.searchParams.get(type);
  const definition = params?.get(code);
  const ptype = BUILTIN[code] ?? definition?.type;
  if (!ptype || (definition && !definition.expression && !BUILTIN[code])) return undefined;
  if (modifier && !(MODIFIERS[ptype] ?? []).includes(modifier) && !(ptype === 'reference' && /^[A-Z]/.test(modifier))) {
    throw new FhirError('invalid', {
      message: `Unknown modifier ':${modifier}' for ${ptype} parameter '${code}'`,
      expression: where,
    });
  }
  // token :in/:not-in/:above/:below are rewritten with the terminology service (terminology/search-modifiers.ts)
  if (modifier === 'of-type' && !/identifier/i.test(definition?.expression ?? '')) {
    throw new FhirError('invalid', {
      message: `':of-type' applies to identifier parameters, not '${code}'`,
      expression: where,
    });
  }
  if (modifier === 'missing' && !['true', 'false'].includes(value)) {
    throw new FhirError('invalid', { message: `':missing' takes true or false, not '${value}'`, expression: where });
  }
  if (ptype === 'composite') {
    const components = (definition?.component ?? []).map(
      (c) => [...(params?.values() ?? [])].find((p) => p.url === c.definition)?.type as string | undefined,
    );
    if (!components.length || components.some((t) => !t || t === 'composite')) {
      throw new FhirError('invalid', { message: `Composite parameter '${code}' is not supported`, expression: where });
    }
    const values = orValues(value, where);
    return { code, type: ptype, modifier, values, definition, components: components as string[] };
  }
  return { code, type: ptype, modifier, values: orValues(value, where), definition };
}

function orValues(value: string, where: string): string[] {
  const values = splitValues(value);
  if (values.length > MAX_OR_VALUES) {
    const message = `'${where}' has ${values.length} values; a parameter may have at most ${MAX_OR_VALUES}`;
    throw tooCostly(`${message} (search again with the rest)`, where);
  }
  return values;
}

/** One more target type searched by a chain, or the 400 when the chain has used up its budget. */
function spend(budget: Budget, where: string): void {
  if (--budget.targets < 0) {
    const message = `'${where}' is searched over more than ${MAX_CHAIN_TARGETS} target types`;
    throw tooCostly(`${message}; name them (subject:Patient.name)`, where);
  }
}

function referenceParam(defs: Definitions, type: string, code: string, where: string): SearchParameter {
  const sp = defs.searchParams.get(type)?.get(code);
  if (!sp || sp.type !== 'reference') {
    throw new FhirError('invalid', { message: `'${code}' is not a reference parameter of ${type}`, expression: where });
  }
  return sp;
}

/**
 * A link without a type (`subject.name`) is searched over every target type that has the rest of the
 * chain (R4 §3.1.1.4.11); target types that do not are passed over, and only when none has it is
 * the chain refused, with the first reason.
 */
function parseChain(
  defs: Definitions,
  type: string,
  head: string,
  tail: string,
  value: string,
  where: string,
  budget: Budget,
): Criterion {
  const [code, targetType] = splitModifier(head);
  const definition = referenceParam(defs, type, code, where);
  const candidates = targetType ? [targetType] : ((definition.target ?? []) as string[]);
  if (targetType && !(definition.target as string[] | undefined)?.includes(targetType)) {
    throw new FhirError('invalid', { message: `${type}.${code} cannot refer to ${targetType}`, expression: where });
  }
  const chain: { targetType: string; next: Criterion }[] = [];
  let refused: FhirError | undefined;
  for (const target of candidates) {
    if (!defs.resourceTypes.has(target)) continue;
    let next: Criterion | undefined;
    try {
      next = parseAt(defs, target, tail, value, where, budget);
    } catch (err) {
      if (targetType || !(err instanceof FhirError) || err.issues[0]?.code === 'too-costly') throw err;
      refused ??= err;
    }
    if (!next) continue;
    spend(budget, where);
    chain.push({ targetType: target, next });
  }
  const message = `Unknown chained parameter '${tail}' after ${type}.${code}`;
  if (!chain.length) throw refused ?? new FhirError('invalid', { message, expression: where });
  return { code, type: 'reference', values: [], definition, chain };
}

function parseHas(
  defs: Definitions,
  type: string,
  rawName: string,
  value: string,
  where: string,
  budget: Budget,
): Criterion {
  // _has:SourceType:refParam:rest — rest is a parameter of SourceType, or another _has
  const m = /^_has:([A-Z][A-Za-z]+):([^:]+):(.+)$/.exec(rawName);
  if (!m || !defs.resourceTypes.has(m[1]))
    throw new FhirError('invalid', { message: `Malformed _has parameter '${rawName}'`, expression: where });
  const [, sourceType, refParam, rest] = m;
  const definition = referenceParam(defs, sourceType, refParam, where);
  if (definition.target && !(definition.target as string[]).includes(type)) {
    throw new FhirError('invalid', { message: `${sourceType}.${refParam} cannot refer to ${type}`, expression: where });
  }
  const next = parseAt(defs, sourceType, rest, value, where, budget);
  spend(budget, where);
  if (!next)
    throw new FhirError('invalid', {
      message: `Unknown parameter '${rest}' of ${sourceType} in '${rawName}'`,
      expression: where,
    });
  return { code: '_has', type: 'special', values: [], has: { sourceType, refParam, next } };
}
