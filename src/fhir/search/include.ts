import type { Definitions } from '../definitions.js';
import { FhirError } from '../errors.js';
import type { Include } from './params.js';

/** `_include=Observation:subject[:Patient]`, `_revinclude=Provenance:target`, `:iterate`, and `*`. */
export function parseInclude(defs: Definitions, name: string, value: string): Include {
  const reverse = name.startsWith('_revinclude');
  const iterate = name.endsWith(':iterate');
  const [sourceType, code, targetType] = value.split(':');
  if (!sourceType || !defs.resourceTypes.has(sourceType) || !code) {
    throw new FhirError('invalid', {
      message: `${name} takes SourceType:parameter[:TargetType], not '${value}'`,
      expression: name,
    });
  }
  const params = defs.searchParams.get(sourceType)!;
  let codes: string[];
  if (code === '*') codes = [...params].filter(([, sp]) => sp.type === 'reference' && sp.expression).map(([c]) => c);
  else {
    const sp = params.get(code);
    if (!sp || sp.type !== 'reference')
      throw new FhirError('invalid', {
        message: `'${code}' is not a reference parameter of ${sourceType}`,
        expression: name,
      });
    codes = [code];
  }
  if (targetType && !defs.resourceTypes.has(targetType))
    throw new FhirError('invalid', { message: `Unknown target type '${targetType}'`, expression: name });
  return { reverse, iterate, sourceType, params: codes, targetType, raw: value, name };
}
