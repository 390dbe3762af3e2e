import type { ValueSet } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Criterion, SearchRequest } from '../fhir/search/params.js';
import { splitPipe } from '../fhir/search/params.js';
import type { Services } from '../fhir/services.js';
import { expandValueSet } from './expand.js';
import { MEMBERSHIP_SETTINGS } from './membership.js';
import { TerminologyContext } from './source.js';
import { splitCanonical } from './versions.js';

/** The most codes a terminology modifier may turn into; beyond it the query is refused as too costly. */
export const MAX_MODIFIER_CODES = 5000;
const TERMINOLOGY_MODIFIERS = new Set(['in', 'not-in', 'above', 'below']);

/** Escapes a token value part (R4 §3.1.1.4.8: `\`, `|`, `,`, `$`). */
const esc = (s: string) => s.replace(/[\\|,$]/g, (c) => `\\${c}`);

/**
 * Token search with the terminology modifiers (R4 §3.1.1.4.7): `:in` / `:not-in` a ValueSet and
 * `:below` / `:above` a code in its system's hierarchy. Each is rewritten, before the SQL is built,
 * into the plain token codes it stands for (`:not-in` into `:not`), from the same expansions the
 * terminology operations use (and cache). Chains and `_has` are rewritten too.
 */
export async function resolveTerminologyModifiers(svc: Services, req: SearchRequest): Promise<void> {
  if (!needsTerminology(req.criteria)) return;
  const ctx = new TerminologyContext(svc.terminology, await svc.terminology.generation());
  await Promise.all(req.criteria.map((c) => rewrite(ctx, c)));
}

function needsTerminology(list: Criterion[]): boolean {
  return list.some(
    (c) =>
      (c.type === 'token' && c.modifier && TERMINOLOGY_MODIFIERS.has(c.modifier)) ||
      (c.chain && needsTerminology(c.chain.map((x) => x.next))) ||
      (c.has && needsTerminology([c.has.next])),
  );
}

async function rewrite(ctx: TerminologyContext, c: Criterion): Promise<void> {
  for (const link of c.chain ?? []) await rewrite(ctx, link.next);
  if (c.has) await rewrite(ctx, c.has.next);
  if (c.type !== 'token' || !c.modifier || !TERMINOLOGY_MODIFIERS.has(c.modifier)) return;
  const where = `${c.code}:${c.modifier}`;
  const codes: { system: string; code: string }[] = [];
  for (const value of c.values) {
    if (c.modifier === 'in' || c.modifier === 'not-in') {
      const [url, version] = splitCanonical(value);
      const vs = await ctx.find<ValueSet>('ValueSet', url, version);
      if (!vs) throw new FhirError('invalid', { message: `The value set '${value}' is not known`, expression: where });
      codes.push(...(await expandValueSet(ctx, vs, MEMBERSHIP_SETTINGS)).entries);
    } else {
      const [system, code] = splitPipe(value);
      if (!system)
        throw new FhirError('invalid', {
          message: `':${c.modifier}' takes system|code, not '${value}'`,
          expression: where,
        });
      const cs = await ctx.codeSystem(system);
      if (!cs)
        throw new FhirError('invalid', { message: `The code system '${system}' is not known`, expression: where });
      const concept = cs.get(code);
      if (!concept)
        throw new FhirError('invalid', {
          message: `Unknown code '${code}' in the code system '${system}'`,
          expression: where,
        });
      for (const other of cs.concepts.values()) {
        if (c.modifier === 'below' ? cs.subsumes(concept.code, other.code) : cs.subsumes(other.code, concept.code))
          codes.push({ system: cs.url, code: other.code });
      }
    }
  }
  // Norwegian data carries the Volven OID as the system as often as the canonical url: match both
  for (const system of new Set(codes.map((x) => x.system))) {
    const cs = await ctx.codeSystem(system);
    const ids = Array.isArray(cs?.resource.identifier)
      ? cs.resource.identifier
      : cs?.resource.identifier
        ? [cs.resource.identifier]
        : [];
    for (const oid of ids.map((i) => i.value).filter((v): v is string => !!v?.startsWith('urn:oid:'))) {
      codes.push(...codes.filter((x) => x.system === system).map((x) => ({ system: oid, code: x.code })));
    }
  }
  if (codes.length > MAX_MODIFIER_CODES) {
    throw new FhirError('invalid', {
      message: `':${c.modifier}' stands for ${codes.length} codes here, more than the ${MAX_MODIFIER_CODES} a search may use`,
      expression: where,
      code: 'too-costly',
    });
  }
  c.modifier = c.modifier === 'not-in' ? 'not' : undefined;
  // no codes: a value nothing carries, so `:in` matches nothing and `:not-in` everything
  c.values = codes.length ? [...new Set(codes.map((x) => `${esc(x.system)}|${esc(x.code)}`))] : ['urn:forlop:no-code|'];
}
