import type { ValueSet } from '@medplum/fhirtypes';
import type { TerminologyContext } from '../source.js';
import type { TxInput } from './input.js';

const VALUESET_SUPPLEMENT = 'http://hl7.org/fhir/StructureDefinition/valueset-supplement';

/**
 * Applies the supplements an operation depends on: those the value set names with the
 * `valueset-supplement` extension and those the request names with `useSupplement` (R5 $expand,
 * $validate-code and $lookup; accepted here in R4 too).
 */
export async function applyRequestedSupplements(ctx: TerminologyContext, input: TxInput, vs?: ValueSet): Promise<void> {
  const fromValueSet = (vs?.extension ?? [])
    .filter((e) => e.url === VALUESET_SUPPLEMENT)
    .map((e) => e.valueCanonical ?? e.valueUri ?? '')
    .filter(Boolean);
  await ctx.useSupplements([...fromValueSet, ...input.strings('useSupplement')]);
}
