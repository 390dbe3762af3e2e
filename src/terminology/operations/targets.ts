import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import type { Services } from '../../fhir/services.js';
import { definitionNotFound } from '../issues.js';
import type { TerminologyContext, TerminologyType } from '../source.js';
import { splitCanonical } from '../versions.js';
import type { TxInput } from './input.js';

/** The stored resource an instance-level operation runs on (`[base]/ValueSet/123/$expand`). */
export async function instanceResource<T extends CodeSystem | ValueSet | ConceptMap>(
  svc: Services,
  type: TerminologyType,
  id: string,
): Promise<T> {
  const row = await svc.store.current(type, id);
  if (!row || row.deleted || !row.content) throw new FhirError('not-found', `${type}/${id} is not known`);
  return JSON.parse(row.content) as T;
}

/**
 * The value set an operation is about (R4 $expand/$validate-code): the instance, an inline
 * `valueSet`, or `url` (+ `valueSetVersion`) resolved in the terminology context.
 */
export async function targetValueSet(
  svc: Services,
  ctx: TerminologyContext,
  input: TxInput,
  id: string | undefined,
  required: boolean,
): Promise<ValueSet | undefined> {
  if (id) return instanceResource<ValueSet>(svc, 'ValueSet', id);
  const inline = input.resource<ValueSet>('valueSet', 'ValueSet');
  if (inline) return inline;
  if (input.has('context'))
    throw new FhirError('invalid', {
      message: 'The context parameter is not supported; give url or valueSet',
      expression: 'context',
      code: 'not-supported',
    });
  const canonical = input.string('url');
  if (!canonical) {
    if (required)
      throw new FhirError('invalid', {
        message: 'Give the value set: an instance id, url or valueSet',
        expression: 'url',
      });
    return undefined;
  }
  const [url, embedded] = splitCanonical(canonical);
  const version = input.string('valueSetVersion') ?? embedded;
  const vs = await ctx.find<ValueSet>('ValueSet', url, version);
  if (!vs) {
    const name = version ? `${url}|${version}` : url;
    throw definitionNotFound(`A definition for the value Set '${name}' could not be found`);
  }
  return vs;
}
