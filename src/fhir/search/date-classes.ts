import { paramId } from './param-id.js';

/**
 * Date index rows are kept in classes by span (high − low), each under its own index key. A row of a
 * class spans at most `maxSpan`, so for a range query (`ge X & lt Y`) its `low` lies in
 * [X − maxSpan, Y]: a bounded index scan per class instead of a scan of everything before Y.
 * Instants, dateTimes and dates fall in the first class; open Periods in the last.
 */
const DAY = 86_400_000;
export const DATE_CLASSES = [
  { suffix: '', maxSpan: DAY },
  { suffix: '~month', maxSpan: 31 * DAY },
  { suffix: '~year', maxSpan: 366 * DAY },
  { suffix: '~long', maxSpan: Infinity },
] as const;

/** The index key (code plus class suffix) for a date value of this span. */
export function dateKey(code: string, low: number, high: number): string {
  const span = high - low;
  return code + DATE_CLASSES.find((c) => span < c.maxSpan)!.suffix;
}

/** The index ids of every class of a date parameter. */
export function dateParamIds(type: string, code: string): number[] {
  return DATE_CLASSES.map((c) => paramId(type, code + c.suffix));
}

/** The index ids a parameter's rows are kept under: one, or one per span class for dates. */
export function indexIds(type: string, code: string, paramType: string): number[] {
  return paramType === 'date' ? dateParamIds(type, code) : [paramId(type, code)];
}
