import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { VALID_EXAMPLES } from '../support/hl7-examples.js';
import { useFixtures, useServer } from '../support/server.js';

/** Spot-checks of search over the HL7 R4 examples: ≥ 50 queries across ≥ 15 resource types. */
const { cases } = JSON.parse(readFileSync(join(import.meta.dirname, 'hl7-spot-checks.json'), 'utf8')) as {
  cases: { query: string; ids: string[] }[];
};

describe.each(BACKENDS)('search over the HL7 examples on $name', (backend) => {
  const t = useServer(backend);

  useFixtures(t, () => VALID_EXAMPLES.map((e) => e.resource));

  it(`the table has ${cases.length} queries over many types`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(new Set(cases.map((c) => c.query.split('?')[0])).size).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)('$query', async ({ query, ids }) => {
    const res = await t.http().get(`/fhir/${query}&_count=1000`);
    expect(res.status).toBe(200);
    const got = (res.body.entry ?? [])
      .filter((e: { search: { mode: string } }) => e.search.mode === 'match')
      .map((e: { resource: { id: string } }) => e.resource.id)
      .sort();
    expect(got).toEqual([...ids].sort());
    expect(res.body.total).toBe(ids.length);
  });
});
