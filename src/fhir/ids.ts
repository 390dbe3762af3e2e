import { randomUUID } from 'node:crypto';
import { FhirError } from './errors.js';

/** R4 §2.24.0.1 id: [A-Za-z0-9\-\.]{1,64}; versionIds follow the same rule. */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function checkId(id: string, what = 'id'): string {
  if (!ID_PATTERN.test(id)) {
    throw new FhirError('invalid', {
      message: `Invalid ${what} '${id.slice(0, 80)}': must match [A-Za-z0-9-.]{1,64}`,
      expression: what,
    });
  }
  return id;
}

export function newId(): string {
  return randomUUID();
}

/** ETag values are weak: W/"<versionId>" (R4 §3.1.0.5.3). */
export function etag(versionId: number | string): string {
  return `W/"${versionId}"`;
}

/** The versionId in an If-Match header, or undefined when the header is absent. */
export function parseIfMatch(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?([^"]*)"?\s*$/.exec(header);
  if (!m || !m[1])
    throw new FhirError('invalid', { message: `Malformed If-Match header '${header}'`, expression: 'If-Match' });
  return m[1];
}
