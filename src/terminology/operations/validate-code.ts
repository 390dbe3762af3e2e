import type { CodeSystem, Coding } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import type { Services } from '../../fhir/services.js';
import { expandValueSet } from '../expand.js';
import { txError, txIssue } from '../issues.js';
import { validateCode, type ValidateInput } from '../validate-code.js';
import { splitCanonical } from '../versions.js';
import { txOperation, type TxInput } from './input.js';
import { applyRequestedSupplements } from './supplements.js';
import { instanceResource, targetValueSet } from './targets.js';

/** The code to check, in whichever of the three forms the client used. */
function codeInput(input: TxInput, versionParam: string): Pick<ValidateInput, 'form' | 'codings' | 'codeableConcept'> {
  const cc = input.codeableConcept('codeableConcept');
  if (cc) return { form: 'codeableConcept', codings: cc.coding ?? [], codeableConcept: cc };
  const coding = input.coding('coding');
  if (coding) return { form: 'coding', codings: [coding] };
  const code = input.string('code');
  if (code === undefined)
    throw new FhirError('invalid', {
      message: 'Give the code to validate: code, coding or codeableConcept',
      expression: 'code',
    });
  const [system, embedded] = splitCanonical(input.string('system') ?? '');
  const c: Coding = { code };
  if (system) c.system = system;
  const version = input.string(versionParam) ?? embedded;
  if (version) c.version = version;
  const display = input.string('display');
  if (display !== undefined) c.display = display;
  return { form: 'code', codings: [c] };
}

function lenient(svc: Services, input: TxInput): boolean {
  return input.boolean('lenient-display-validation', svc.terminologyLimits.lenientDisplay);
}

/** `ValueSet/$validate-code` (R4 §4.9.17.1): is the code in the value set, with a valid display? */
export const valueSetValidateCode = txOperation('ValueSet', 'validate-code', async (svc, input, ctx, target) => {
  const vs = (await targetValueSet(svc, ctx, input, target.id, true))!;
  input.useValueSetDefaults(vs);
  await applyRequestedSupplements(ctx, input, vs);
  const given = codeInput(input, 'systemVersion');
  const codingVersions = new Map(given.codings.flatMap((c) => (c.system && c.version ? [[c.system, c.version]] : [])));
  const settings = { ...input.settings(svc), tolerateMissing: true, codingVersions };
  const expanded = await expandValueSet(ctx, vs, settings);
  const resource = await validateCode(ctx, {
    ...given,
    valueSet: { resource: vs, expanded },
    lenientDisplay: lenient(svc, input),
    membershipOnly: input.boolean('valueset-membership-only', false),
    abstractAllowed: input.boolean('abstract'),
    // without a language asked for, the value set's own language is the one its displays are in
    languages: input.languages().length ? input.languages() : vs.language ? [vs.language] : [],
    settings,
  });
  return { status: 200, resource };
});

/** `CodeSystem/$validate-code` (R4 §4.8.15.2): is the code defined in the code system? */
export const codeSystemValidateCode = txOperation('CodeSystem', 'validate-code', async (svc, input, ctx, target) => {
  const given = codeInput(input, 'version');
  let url: string | undefined;
  let version: string | undefined;
  if (target.id) {
    const cs = await instanceResource<CodeSystem>(svc, 'CodeSystem', target.id);
    [url, version] = [cs.url, cs.version];
  } else {
    const inline = input.resource<CodeSystem>('codeSystem', 'CodeSystem');
    [url, version] = inline
      ? [inline.url, inline.version]
      : splitCanonical(input.string('url') ?? given.codings[0]?.system ?? '');
    version = input.string('version') ?? version;
  }
  if (!url)
    throw new FhirError('invalid', {
      message: 'Give the code system: an instance id, url, codeSystem or the coding system',
      expression: 'url',
    });
  if (given.codings[0]?.system && given.codings[0].system !== url) {
    throw txError(
      'invalid',
      txIssue(
        'error',
        'invalid',
        'invalid-code',
        `The coding's system '${given.codings[0].system}' is not the code system '${url}'`,
        'system',
      ),
    );
  }
  await applyRequestedSupplements(ctx, input);
  const resource = await validateCode(ctx, {
    ...given,
    codeSystem: { url, version },
    lenientDisplay: lenient(svc, input),
    abstractAllowed: input.boolean('abstract'),
    languages: input.languages(),
    settings: input.settings(svc),
  });
  return { status: 200, resource };
});
