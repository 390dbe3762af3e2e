import type { Parameters } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import { reindex } from '../search/reindex.js';
import type { Operation } from './types.js';
import { operationInput } from './parameters.js';

/** `$reindex` at system level (optionally `type=`…) or type level: rebuild the search index rows. */
export const reindexOperation: Operation = {
  name: 'reindex',
  definition: 'http://forlop.no/fhir/OperationDefinition/reindex',
  levels: ['system', 'type'],
  methods: ['POST'],
  // rewrites index rows of every resource of the type(s): an administrator's (system) token
  access: (target) => [{ type: target.type ?? '*', action: 'u', whole: true }],
  async handler(svc, req, target) {
    const input = operationInput(req);
    const types = target.type ? [target.type] : ((input.get('type') ?? []) as string[]).flatMap((t) => t.split(','));
    for (const t of types)
      if (!svc.defs.resourceTypes.has(t))
        throw new FhirError('invalid', { message: `Unknown resource type '${t}'`, expression: 'type' });
    const started = Date.now();
    const { resources } = await reindex(svc, { types });
    const out: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resources', valueInteger: resources },
        { name: 'milliseconds', valueInteger: Date.now() - started },
      ],
    };
    return { status: 200, resource: out };
  },
};
