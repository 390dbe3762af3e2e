import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import type { Operation } from '../../fhir/operations/types.js';
import type { FhirRequest } from '../../fhir/request.js';
import type { Services } from '../../fhir/services.js';
import { valueSetValidateCode } from './validate-code.js';

/** Parameters of the request that every validation shares even when it gives its own of the same name. */
const ALWAYS_SHARED = new Set(['tx-resource']);

/**
 * The parameters of one validation: its own, plus the request's shared ones (url, valueSet,
 * tx-resource, lenient-display-validation, displayLanguage…) that it does not give itself.
 */
function validationParameters(shared: ParametersParameter[], own: ParametersParameter[]): ParametersParameter[] {
  const given = new Set(own.map((p) => p.name));
  return [...shared.filter((p) => ALWAYS_SHARED.has(p.name ?? '') || !given.has(p.name)), ...own];
}

/** One validation's answer: the `$validate-code` Parameters, or the OperationOutcome of one that could not run. */
async function validateOne(svc: Services, req: FhirRequest, parameter: ParametersParameter[]): Promise<unknown> {
  const one: FhirRequest = {
    ...req,
    path: ['ValueSet', '$validate-code'],
    query: [],
    body: { resourceType: 'Parameters', parameter },
  };
  try {
    return (await valueSetValidateCode.handler(svc, one, { type: 'ValueSet' })).resource;
  } catch (err) {
    if (err instanceof FhirError && err.status < 500) return err.toOutcome();
    throw err;
  }
}

/**
 * `ValueSet/$batch-validate-code` (the HL7 terminology ecosystem's operation; not in R4 or R5 core):
 * many `$validate-code` requests in one, each a `validation` Parameters resource. Each answer is a
 * `validation` of the result, in the order asked; one that fails on its own (no code, say) is answered
 * with its OperationOutcome and does not fail the others.
 */
export const batchValidateCodeOperation: Operation = {
  name: 'batch-validate-code',
  definition: 'http://forlop.no/fhir/OperationDefinition/ValueSet-batch-validate-code',
  levels: ['type'],
  resourceTypes: ['ValueSet'],
  methods: ['POST'],
  async handler(svc, req) {
    const body = req.body as Parameters | undefined;
    if (body?.resourceType !== 'Parameters')
      throw new FhirError('invalid', { message: 'POST a Parameters resource', expression: 'resourceType' });
    const all = body.parameter ?? [];
    const shared = all.filter((p) => p.name !== 'validation');
    const parameter: ParametersParameter[] = [];
    for (const v of all.filter((p) => p.name === 'validation')) {
      const own = (v.resource as Parameters | undefined)?.parameter;
      if (v.resource?.resourceType !== 'Parameters' || !own)
        throw new FhirError('invalid', {
          message: 'Each validation is a Parameters resource',
          expression: 'validation',
        });
      const resource = await validateOne(svc, req, validationParameters(shared, own));
      parameter.push({ name: 'validation', resource } as ParametersParameter);
    }
    return { status: 200, resource: { resourceType: 'Parameters', parameter } };
  },
};
