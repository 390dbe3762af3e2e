import { compileNative, type NativeExpression } from './compile.js';

/** Compiled native expressions by text (undefined: outside the subset), shared by every evaluation. */
const cache = new Map<string, NativeExpression | undefined>();

/** The native form of an expression, compiled once; undefined when fhirpath.js must run it. */
export function nativeExpression(expression: string): NativeExpression | undefined {
  if (!cache.has(expression)) cache.set(expression, compileNative(expression));
  return cache.get(expression);
}

/**
 * A variable's value must be what fhirpath.js would have given: it tags the elements it returns
 * with their place in the resource (their type, read again when a later criterion uses the value).
 * A resource is typed by itself; any other object from the native path is not, so fhirpath.js runs.
 */
export function untypedObjects(values: unknown[]): boolean {
  return values.some((v) => typeof v === 'object' && v !== null && !('resourceType' in v));
}

export { NotNative } from './values.js';
