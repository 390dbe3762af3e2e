import type { SearchParameter } from '@medplum/fhirtypes';
import type { Definitions } from '../definitions.js';
import { FhirError } from '../errors.js';
import { BUILTIN, MODIFIERS, splitModifier, splitValues, type Criterion } from './params.js';

/**
 * One search parameter of the query (name and value) as a Criterion, or undefined when the name is
 * not a parameter of the type. Handles plain parameters with their modifiers, chains of any depth
 * (R4 §3.1.1.4.11: `subject:Patient.organization.name=x`) and reverse chains (§3.1.1.4.12: `_has`).
 */
export function parseCriterion(defs: Definitions, type: string, rawName: string, value: string, where = rawName): Criterion | undefined {
  if (rawName.startsWith('_has:')) return parseHas(defs, type, rawName, value, where);
  const dot = rawName.indexOf('.');
  if (dot > 0) return parseChain(defs, type, rawName.slice(0, dot), rawName.slice(dot + 1), value, where);

  const [code, modifier] = splitModifier(rawName);
  const params = defs.searchParams.get(type);
  const definition = params?.get(code);
  const ptype = BUILTIN[code] ?? definition?.type;
  if (!ptype || (definition && !definition.expression && !BUILTIN[code])) return undefined;
  if (modifier && !(MODIFIERS[ptype] ?? []).includes(modifier) && !(ptype === 'reference' && /^[A-Z]/.test(modifier))) {
    throw new FhirError('invalid', { message: `Unknown modifier ':${modifier}' for ${ptype} parameter '${code}'`, expression: where });
  }
  // token :in/:not-in/:above/:below are rewritten with the terminology service (terminology/search-modifiers.ts)
  if (modifier === 'of-type' && !/identifier/i.test(definition?.expression ?? '')) {
    throw new FhirError('invalid', { message: `':of-type' applies to identifier parameters, not '${code}'`, expression: where });
  }
  if (modifier === 'missing' && !['true', 'false'].includes(value)) {
    throw new FhirError('invalid', { message: `':missing' takes true or false, not '${value}'`, expression: where });
  }
  if (ptype === 'composite') {
    const components = (definition?.component ?? []).map((c) => [...(params?.values() ?? [])].find((p) => p.url === c.definition)?.type as string | undefined);
    if (!components.length || components.some((t) => !t || t === 'composite')) {
      throw new FhirError('invalid', { message: `Composite parameter '${code}' is not supported`, expression: where });
    }
    return { code, type: ptype, modifier, values: splitValues(value), definition, components: components as string[] };
  }
  return { code, type: ptype, modifier, values: splitValues(value), definition };
}

function referenceParam(defs: Definitions, type: string, code: string, where: string): SearchParameter {
  const sp = defs.searchParams.get(type)?.get(code);
  if (!sp || sp.type !== 'reference') {
    throw new FhirError('invalid', { message: `'${code}' is not a reference parameter of ${type}`, expression: where });
  }
  return sp;
}

function parseChain(defs: Definitions, type: string, head: string, tail: string, value: string, where: string): Criterion {
  const [code, targetType] = splitModifier(head);
  const definition = referenceParam(defs, type, code, where);
  const candidates = targetType ? [targetType] : ((definition.target ?? []) as string[]);
  if (targetType && !(definition.target as string[] | undefined)?.includes(targetType)) {
    throw new FhirError('invalid', { message: `${type}.${code} cannot refer to ${targetType}`, expression: where });
  }
  const chain: { targetType: string; next: Criterion }[] = [];
  for (const target of candidates) {
    if (!defs.resourceTypes.has(target)) continue;
    const next = parseCriterion(defs, target, tail, value, where);
    if (next) chain.push({ targetType: target, next });
  }
  if (!chain.length) throw new FhirError('invalid', { message: `Unknown chained parameter '${tail}' after ${type}.${code}`, expression: where });
  return { code, type: 'reference', values: [], definition, chain };
}

function parseHas(defs: Definitions, type: string, rawName: string, value: string, where: string): Criterion {
  // _has:SourceType:refParam:rest — rest is a parameter of SourceType, or another _has
  const m = /^_has:([A-Z][A-Za-z]+):([^:]+):(.+)$/.exec(rawName);
  if (!m || !defs.resourceTypes.has(m[1])) throw new FhirError('invalid', { message: `Malformed _has parameter '${rawName}'`, expression: where });
  const [, sourceType, refParam, rest] = m;
  const definition = referenceParam(defs, sourceType, refParam, where);
  if (definition.target && !(definition.target as string[]).includes(type)) {
    throw new FhirError('invalid', { message: `${sourceType}.${refParam} cannot refer to ${type}`, expression: where });
  }
  const next = parseCriterion(defs, sourceType, rest, value, where);
  if (!next) throw new FhirError('invalid', { message: `Unknown parameter '${rest}' of ${sourceType} in '${rawName}'`, expression: where });
  return { code: '_has', type: 'special', values: [], has: { sourceType, refParam, next } };
}
