import type { CodeSystem, Coding } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import type { Services } from '../../fhir/services.js';
import type { CodeSystemIndex, Concept } from '../codesystem.js';
import { definitionNotFound, txError, txIssue } from '../issues.js';
import { lookupConcept, subsumption } from '../lookup.js';
import type { TerminologyContext } from '../source.js';
import { splitCanonical } from '../versions.js';
import { txOperation } from './input.js';
import { applyRequestedSupplements } from './supplements.js';
import { instanceResource } from './targets.js';

/** The code system an operation on codes is about: the instance, or the system (+ version) given. */
async function codeSystemFor(
  svc: Services,
  ctx: TerminologyContext,
  id: string | undefined,
  system: string | undefined,
  version: string | undefined,
  where: string,
): Promise<CodeSystemIndex> {
  if (id) return ctx.store.index(await instanceResource<CodeSystem>(svc, 'CodeSystem', id));
  if (!system)
    throw new FhirError('invalid', {
      message: 'Give the code system (system, or a coding with a system)',
      expression: where,
    });
  const [url, embedded] = splitCanonical(system);
  const cs = await ctx.codeSystem(url, version ?? embedded);
  if (!cs) {
    const v = version ?? embedded;
    throw definitionNotFound(
      `A definition for CodeSystem '${url}'${v ? ` version '${v}'` : ''} could not be found`,
      where,
    );
  }
  return cs;
}

function conceptOf(cs: CodeSystemIndex, code: string | undefined, where: string): Concept {
  if (code === undefined) throw new FhirError('invalid', { message: 'Give the code', expression: where });
  const concept = cs.get(code);
  if (!concept) {
    throw txError(
      'not-found',
      txIssue(
        'error',
        'code-invalid',
        'invalid-code',
        `Unknown code '${code}' in the CodeSystem '${cs.url}' version '${cs.version ?? ''}'`,
        where,
      ),
    );
  }
  return concept;
}

/** `CodeSystem/$lookup` (R4 §4.8.15.1). */
export const lookupOperation = txOperation('CodeSystem', 'lookup', async (svc, input, ctx, target) => {
  const coding: Coding = input.coding('coding') ?? {
    system: input.string('system'),
    code: input.string('code'),
    version: input.string('version'),
  };
  await applyRequestedSupplements(ctx, input);
  const cs = await codeSystemFor(
    svc,
    ctx,
    target.id,
    coding.system,
    coding.version ?? input.string('version'),
    input.has('coding') ? 'coding.system' : 'system',
  );
  const concept = conceptOf(cs, coding.code, input.has('coding') ? 'coding.code' : 'code');
  const properties = input.strings('property');
  const resource = lookupConcept(cs, concept, properties, input.languages());
  for (const used of ctx.usedSupplements) resource.parameter?.push({ name: 'used-supplement', valueCanonical: used });
  return { status: 200, resource };
});

/** `CodeSystem/$subsumes` (R4 §4.8.15.3). */
export const subsumesOperation = txOperation('CodeSystem', 'subsumes', async (svc, input, ctx, target) => {
  const a: Coding = input.coding('codingA') ?? { code: input.string('codeA'), system: input.string('system') };
  const b: Coding = input.coding('codingB') ?? { code: input.string('codeB'), system: input.string('system') };
  if (a.system && b.system && a.system !== b.system) {
    throw new FhirError('invalid', {
      message: `codingA and codingB are from different code systems (${a.system}, ${b.system})`,
      expression: 'codingB.system',
    });
  }
  const cs = await codeSystemFor(
    svc,
    ctx,
    target.id,
    input.string('system') ?? a.system ?? b.system,
    input.string('version') ?? a.version,
    'system',
  );
  const outcome = subsumption(
    cs,
    conceptOf(cs, a.code, input.has('codingA') ? 'codingA.code' : 'codeA'),
    conceptOf(cs, b.code, input.has('codingB') ? 'codingB.code' : 'codeB'),
  );
  return {
    status: 200,
    resource: { resourceType: 'Parameters', parameter: [{ name: 'outcome', valueCode: outcome }] },
  };
});
