import type { Coding, ConceptMap } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import { definitionNotFound } from '../issues.js';
import { translateCoding, translationParameters } from '../translate.js';
import { splitCanonical } from '../versions.js';
import { txOperation } from './input.js';
import { instanceResource } from './targets.js';

/**
 * `ConceptMap/$translate` (R4 §4.10.16.1): with a map (instance, `url` or inline `conceptMap`), or
 * across every map whose source (target, with `reverse`) is the coding's system.
 */
export const translateOperation = txOperation('ConceptMap', 'translate', async (svc, input, ctx, target) => {
  const cc = input.codeableConcept('codeableConcept');
  const codings: Coding[] = cc?.coding ?? [
    input.coding('coding') ?? {
      system: input.string('system'),
      version: input.string('version'),
      code: input.string('code'),
    },
  ];
  if (!codings.length || codings.some((c) => !c.code))
    throw new FhirError('invalid', {
      message: 'Give the code to translate: code and system, coding or codeableConcept',
      expression: 'code',
    });
  const reverse = input.boolean('reverse', false);
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
  const targetSystem = input.string('targetsystem') ?? input.string('targetSystem');
  const matches = codings.flatMap((c) => translateCoding(maps, c, targetSystem, reverse));
  return { status: 200, resource: translationParameters(matches, codings[0]) };
});
