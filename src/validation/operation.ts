import type { OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Operation } from '../fhir/operations/types.js';
import { operationInput } from '../fhir/operations/parameters.js';
import { validateWithDryRun } from './dry-run.js';
import { isR4ResourceType, unknownTypeIssue } from './resource-types.js';

const MODES = new Set(['create', 'update', 'delete', 'profile']);

/**
 * `$validate` (R4 §2.38.0 Resource-validate) at type and instance level: the resource (posted
 * directly or as the `resource` parameter; at instance level with GET, the stored one), `mode`
 * and `profile`. The answer is always 200 with an OperationOutcome: errors are `severity=error`.
 * A transaction or batch Bundle is also dry-run (dry-run.ts): what a POST of it would refuse, the
 * pathway and NPR rules included, is reported at its entries; nothing is stored.
 */
export const validateOperation: Operation = {
  name: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  levels: ['type', 'instance'],
  methods: ['GET', 'POST'],
  async handler(svc, req, target) {
    const type = target.type as string;
    const body = req.body as Resource | Parameters | undefined;
    const direct =
      req.method === 'POST' && body?.resourceType !== 'Parameters' ? (body as Resource | undefined) : undefined;
    const input = direct ? new Map<string, unknown[]>(req.query.map(([k, v]) => [k, [v]])) : operationInput(req);
    const mode = (input.get('mode')?.[0] as string | undefined) ?? undefined;
    if (mode !== undefined && !MODES.has(mode))
      throw new FhirError('invalid', {
        message: `Unknown mode '${mode}': create, update, delete or profile`,
        expression: 'mode',
      });
    const profiles = ((input.get('profile') ?? []) as unknown[]).filter((p): p is string => typeof p === 'string');

    const stored = target.id ? await svc.store.current(type, target.id) : undefined;
    if (
      target.id &&
      mode !== 'create' &&
      (!stored || stored.deleted) &&
      (mode === 'delete' || (!direct && !input.get('resource')))
    ) {
      throw new FhirError('not-found', `${type}/${target.id} is not known`);
    }
    if (mode === 'delete') {
      if (!target.id)
        throw new FhirError('invalid', {
          message: 'mode=delete needs an instance: [base]/[type]/[id]/$validate',
          expression: 'mode',
        });
      return answer([
        {
          severity: 'information',
          code: 'informational',
          diagnostics: `${type}/${target.id} can be deleted: no rule of this server prevents it`,
        },
      ]);
    }
    const resource =
      direct ??
      (input.get('resource')?.[0] as Resource | undefined) ??
      (stored?.content ? (JSON.parse(stored.content) as Resource) : undefined);
    if (!resource || typeof resource !== 'object')
      throw new FhirError('invalid', {
        message: 'Give the resource to validate: in the body, or as the resource parameter',
        expression: 'resource',
      });
    const rt = resource.resourceType;
    if (!isR4ResourceType(rt)) return answer([unknownTypeIssue(rt, 'resourceType')]);
    if (resource.resourceType !== type) {
      return answer([
        {
          severity: 'error',
          code: 'invalid',
          diagnostics: `The resource is a ${String(resource.resourceType)}, not a ${type}`,
          expression: ['resourceType'],
        },
      ]);
    }
    const issues: OperationOutcomeIssue[] = [];
    if (mode === 'update' && target.id && resource.id !== target.id) {
      issues.push({
        severity: 'error',
        code: 'invalid',
        diagnostics: `For an update the resource's id must be '${target.id}'`,
        expression: [`${type}.id`],
      });
    }
    if (mode === 'update' && !target.id && !resource.id)
      issues.push({
        severity: 'error',
        code: 'required',
        diagnostics: 'For an update the resource needs an id',
        expression: [`${type}.id`],
      });
    // mode=profile asks about the profile alone; otherwise a transaction or batch is also dry-run
    if (mode === 'profile') issues.push(...(await svc.validator.validate(resource, { profiles })));
    else issues.push(...(await validateWithDryRun(svc, resource, { profiles })));
    return answer(issues);
  },
};

function answer(issues: OperationOutcomeIssue[]) {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: issues.length
      ? issues
      : [{ severity: 'information', code: 'informational', diagnostics: 'No issues found' }],
  };
  return { status: 200, resource: outcome };
}
