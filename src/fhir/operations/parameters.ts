import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { FhirRequest } from '../request.js';

/**
 * An operation's input parameters (R4 §3.1.0.10.3): from the query string, and for POST also from a
 * Parameters body. Each name maps to its values: primitives as strings, complex values and resources
 * as objects.
 */
export function operationInput(req: FhirRequest): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  const add = (name: string, value: unknown) => out.set(name, [...(out.get(name) ?? []), value]);
  for (const [k, v] of req.query) if (k !== '_format' && k !== '_pretty') add(k, v);
  if (req.method === 'POST' && req.body !== undefined) {
    const body = req.body as Parameters;
    if (body?.resourceType !== 'Parameters') {
      throw new FhirError('invalid', {
        message: 'An operation called with POST takes a Parameters resource',
        expression: 'resourceType',
      });
    }
    for (const p of body.parameter ?? []) add(p.name as string, valueOf(p));
  }
  return out;
}

function valueOf(p: ParametersParameter): unknown {
  if (p.resource) return p.resource;
  if (p.part) return p.part;
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  const v = key ? (p as unknown as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
}
