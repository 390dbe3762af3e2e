import type { Coding, ConceptMap } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import { definitionNotFound } from '../issues.js';
import { translateCoding, translationParameters } from '../translate.js';
import { splitCanonical } from '../versions.js';
import { txOperation, type TxInput } from './input.js';
import { instanceResource } from './targets.js';

/**
 * The codings to translate. R4 names them `code`+`system`, `coding` or `codeableConcept` (and asks for
 * the reverse direction with `reverse`); R5 (§ConceptMap-translate) names them `sourceCode`+`sourceSystem`,
 * `sourceCoding` or `sourceCodeableConcept`, and `targetCode`(+`targetSystem`), `targetCoding` or
 * `targetCodeableConcept` for the reverse direction.
 */
function requestedCodings(input: TxInput): { codings: Coding[]; reverse: boolean; r5: boolean } {
  const r5Target = ['targetCode', 'targetCoding', 'targetCodeableConcept'].some((n) => input.has(n));
  const r5 = r5Target || ['sourceCode', 'sourceCoding', 'sourceCodeableConcept'].some((n) => input.has(n));
  const [prefix, capital] = r5 ? [r5Target ? 'target' : 'source', true] : ['', false];
  const name = (n: string) => (capital ? `${prefix}${n[0].toUpperCase()}${n.slice(1)}` : n);
  const cc = input.codeableConcept(name('codeableConcept'));
  const codings: Coding[] = cc?.coding ?? [
    input.coding(name('coding')) ?? {
      system: input.string(name('system')),
      version: input.string(name('version')),
      code: input.string(name('code')),
    },
  ];
  return { codings, reverse: r5 ? r5Target : input.boolean('reverse', false), r5 };
}

/**
 * `ConceptMap/$translate` (R4 §4.10.16.1): with a map (instance, `url` or inline `conceptMap`), or
 * across every map whose source (target, with `reverse`) is the coding's system. A request in R5 form
 * is answered in R5 form too (translate.ts).
 */
export const translateOperation = txOperation('ConceptMap', 'translate', async (svc, input, ctx, target) => {
  const { codings, reverse, r5 } = requestedCodings(input);
  if (!codings.length || codings.some((c) => !c.code))
    throw new FhirError('invalid', {
      message:
        'Give the code to translate: code and system, coding or codeableConcept ' +
        '(R5: sourceCode and sourceSystem, sourceCoding, sourceCodeableConcept, or their target forms)',
      expression: 'code',
    });
  let maps: ConceptMap[];
  if (target.id) maps = [await instanceResource<ConceptMap>(svc, 'ConceptMap', target.id)];
  else if (input.has('conceptMap')) maps = [input.resource<ConceptMap>('conceptMap', 'ConceptMap') as ConceptMap];
  else if (input.string('url')) {
    const [url, embedded] = splitCanonical(input.string('url') as string);
    const version = input.string('conceptMapVersion') ?? embedded;
    const map = await ctx.find<ConceptMap>('ConceptMap', url, version);
    if (!map)
      throw definitionNotFound(
        `A definition for the ConceptMap '${url}${version ? `|${version}` : ''}' could not be found`,
      );
    maps = [map];
  } else {
    const system = codings[0].system;
    if (!system)
      throw new FhirError('invalid', {
        message: 'Without a concept map, the coding needs a system',
        expression: 'system',
      });
    maps = await ctx.searchWithOverlay<ConceptMap>('ConceptMap', [
      [reverse ? 'target-system' : 'source-system', system],
    ]);
  }
  // R5 reverse: the system wanted back is sourceSystem (targetSystem is the given code's own)
  const targetSystem =
    r5 && reverse ? input.string('sourceSystem') : (input.string('targetsystem') ?? input.string('targetSystem'));
  const matches = codings.flatMap((c) => translateCoding(maps, c, targetSystem, reverse));
  return { status: 200, resource: translationParameters(matches, codings[0], r5 ? { reverse } : undefined) };
});
