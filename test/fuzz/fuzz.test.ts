import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { runFuzz } from './run.js';

/**
 * Robustness (bounded for CI; `npm run fuzz -- --count 100000` for the long run): malformed requests
 * from a fixed seed — every one answered with a 4xx OperationOutcome (or a harmless 2xx), never a 5xx
 * or a crash, and the stored data unchanged.
 */
describe.each(BACKENDS)('fuzz, on $name', (backend) => {
  it('2,000 malformed requests (seed 20261123): no 5xx, every 4xx an OperationOutcome, data unchanged', async () => {
    const { storage, cleanup } = await backend.open();
    try {
      const report = await runFuzz(storage, 20261123, 2000);
      expect(report.failures).toEqual([]);
      expect(report.requests).toBe(2000);
      expect(report.dataUnchanged).toBe(true);
      const clientErrors = Object.entries(report.byStatus)
        .filter(([s]) => Number(s) >= 400)
        .reduce((n, [, c]) => n + c, 0);
      expect(clientErrors).toBeGreaterThan(1500); // the generator makes bad requests, not good ones
    } finally {
      await cleanup();
    }
  }, 300_000);
});
