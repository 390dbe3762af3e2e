import type { OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Operation } from '../fhir/operations/types.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { FhirRequest } from '../fhir/request.js';
import type { VersionRow } from '../fhir/store.js';
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
    const direct = directResource(req);
    const input = direct ? new Map<string, unknown[]>(req.query.map(([k, v]) => [k, [v]])) : operationInput(req);
    const mode = modeParam(input);
    const profiles = ((input.get('profile') ?? []) as unknown[]).filter((p): p is string => typeof p === 'string');

    const stored = target.id ? await svc.store.current(type, target.id) : undefined;
    const given = !!direct || !!input.get('resource');
    requireStoredTarget(type, target.id, mode, stored, given);
    if (mode === 'delete') return answer(deleteIssues(type, target.id));
    const resource = resourceToValidate(direct, input, stored);
    const wrongType = typeIssue(resource, type);
    if (wrongType) return answer([wrongType]);
    const issues: OperationOutcomeIssue[] = mode === 'update' ? updateIdIssues(resource, type, target.id) : [];
    // mode=profile asks about the profile alone; otherwise a transaction or batch is also dry-run
    if (mode === 'profile') issues.push(...(await svc.validator.validate(resource, { profiles })));
    else issues.push(...(await validateWithDryRun(svc, resource, { profiles })));
    return answer(issues);
  },
};

/** A resource POSTed as the body itself, rather than in a Parameters resource. */
function directResource(req: FhirRequest): Resource | undefined {
  const body = req.body as Resource | Parameters | undefined;
  return req.method === 'POST' && body?.resourceType !== 'Parameters' ? (body as Resource | undefined) : undefined;
}

function modeParam(input: Map<string, unknown[]>): string | undefined {
  const mode = (input.get('mode')?.[0] as string | undefined) ?? undefined;
  if (mode !== undefined && !MODES.has(mode))
    throw new FhirError('invalid', {
      message: `Unknown mode '${mode}': create, update, delete or profile`,
      expression: 'mode',
    });
  return mode;
}

/**
 * At instance level the instance must be stored (and not deleted), unless mode=create or a resource
 * to validate is given; for mode=delete a given resource does not count: the stored one is deleted.
 */
function requireStoredTarget(
  type: string,
  id: string | undefined,
  mode: string | undefined,
  stored: VersionRow | undefined,
  given: boolean,
): void {
  if (id && mode !== 'create' && (!stored || stored.deleted) && (mode === 'delete' || !given)) {
    throw new FhirError('not-found', `${type}/${id} is not known`);
  }
}

function deleteIssues(type: string, id: string | undefined): OperationOutcomeIssue[] {
  if (!id)
    throw new FhirError('invalid', {
      message: 'mode=delete needs an instance: [base]/[type]/[id]/$validate',
      expression: 'mode',
    });
  return [
    {
      severity: 'information',
      code: 'informational',
      diagnostics: `${type}/${id} can be deleted: no rule of this server prevents it`,
    },
  ];
}

/** The resource posted directly, else the `resource` parameter, else (at instance level) the stored one. */
function resourceToValidate(
  direct: Resource | undefined,
  input: Map<string, unknown[]>,
  stored: VersionRow | undefined,
): Resource {
  const resource =
    direct ??
    (input.get('resource')?.[0] as Resource | undefined) ??
    (stored?.content ? (JSON.parse(stored.content) as Resource) : undefined);
  if (!resource || typeof resource !== 'object')
    throw new FhirError('invalid', {
      message: 'Give the resource to validate: in the body, or as the resource parameter',
      expression: 'resource',
    });
  return resource;
}

/** An unknown resource type, or one other than the type the operation was called on. */
function typeIssue(resource: Resource, type: string): OperationOutcomeIssue | undefined {
  const rt = resource.resourceType;
  if (!isR4ResourceType(rt)) return unknownTypeIssue(rt, 'resourceType');
  if (resource.resourceType !== type) {
    return {
      severity: 'error',
      code: 'invalid',
      diagnostics: `The resource is a ${String(resource.resourceType)}, not a ${type}`,
      expression: ['resourceType'],
    };
  }
  return undefined;
}

/** For mode=update: the id must be the instance's, or, at type level, be there at all. */
function updateIdIssues(resource: Resource, type: string, id: string | undefined): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  if (id && resource.id !== id) {
    issues.push({
      severity: 'error',
      code: 'invalid',
      diagnostics: `For an update the resource's id must be '${id}'`,
      expression: [`${type}.id`],
    });
  }
  if (!id && !resource.id)
    issues.push({
      severity: 'error',
      code: 'required',
      diagnostics: 'For an update the resource needs an id',
      expression: [`${type}.id`],
    });
  return issues;
}

function answer(issues: OperationOutcomeIssue[]) {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: issues.length
      ? issues
      : [{ severity: 'information', code: 'informational', diagnostics: 'No issues found' }],
  };
  return { status: 200, resource: outcome };
}
