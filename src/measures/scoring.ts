import type { Aggregate, Scoring } from './definition.js';
import type { Tally } from './tally.js';

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A continuous-variable measure's observations aggregated (cqfm-aggregateMethod; median by default). */
export function aggregate(method: Aggregate, values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  const by: Record<Aggregate, () => number> = {
    sum: () => sum,
    average: () => sum / sorted.length,
    median: () => median(sorted),
    minimum: () => sorted[0],
    maximum: () => sorted[sorted.length - 1],
    count: () => sorted.length,
  };
  return by[method]();
}

/**
 * The measure score (R4 §15.12.5 Scoring; as clinical-reasoning computes it): proportion =
 * (numerator − numerator-exclusion) / (denominator − denominator-exclusion − denominator-exception);
 * ratio = (numerator − numerator-exclusion) / (denominator − denominator-exclusion); continuous
 * variable = the aggregate of the observations; cohort has none. An empty denominator (or no
 * observation) has no score — never NaN or Infinity.
 */
export function scoreOf(scoring: Scoring, method: Aggregate, t: Tally): number | undefined {
  const numerator = t.count('numerator') - t.count('numerator-exclusion');
  if (scoring === 'proportion') {
    const denominator = t.count('denominator') - t.count('denominator-exclusion') - t.count('denominator-exception');
    return denominator > 0 ? numerator / denominator : undefined;
  }
  if (scoring === 'ratio') {
    const denominator = t.count('denominator') - t.count('denominator-exclusion');
    return denominator > 0 ? numerator / denominator : undefined;
  }
  if (scoring === 'continuous-variable') return aggregate(method, t.observations);
  return undefined;
}
