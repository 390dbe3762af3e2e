import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { ALL_EXAMPLES, GENUINELY_INVALID } from '../support/hl7-examples.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';

/**
 * Transaction and batch examples `$validate` dry-runs: this server refuses a POST of them, so their
 * `$validate` says so at the entry (they are valid R4 all the same).
 */
const REFUSED_HERE: Record<string, { reason: string; expression: string }> = {
  'Bundle-bundle-transaction.json': {
    reason: 'an operation ($lookup) as a transaction entry',
    expression: 'Bundle.entry[7].request.url',
  },
  'Bundle-ussg-fht.json': { reason: "PUT to another server's absolute url", expression: 'Bundle.entry[0]' },
  'Bundle-xds.json': {
    reason: "If-None-Exist 'Patient?identifier=…' (a type before the criteria)",
    expression: 'Bundle.entry[1].Patient?identifier',
  },
};

/** Every instance example of the R4 specification, through `$validate` against base R4. */
describe.each(BACKENDS)('the 711 HL7 R4 examples, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);

  it('validate with no error, except those the specification gets wrong and transactions refused here', async () => {
    expect(ALL_EXAMPLES).toHaveLength(711);
    const withErrors: Record<string, (string | undefined)[]> = {};
    for (const { file, resource } of ALL_EXAMPLES) {
      const res = await t
        .http()
        .post(`/fhir/${resource.resourceType}/$validate`)
        .set('Content-Type', FHIR_JSON)
        .send(resource);
      expect(res.status).toBe(200);
      const errors = (res.body.issue as { severity: string; expression?: string[] }[]).filter(
        (i) => i.severity === 'error' || i.severity === 'fatal',
      );
      // the first error, and which elements the errors are about (qs1: 32 items without a linkId)
      if (errors.length)
        withErrors[file] = [
          errors[0].expression?.[0] ?? '',
          ...new Set(errors.map((e) => /[^.\]]+$/.exec(e.expression?.[0] ?? '')?.[0])),
        ];
    }
    const expected = Object.fromEntries(
      Object.entries(GENUINELY_INVALID).map(([file, { expression }]) => [
        file,
        [expression, /[^.\]]+$/.exec(expression)?.[0]],
      ]),
    );
    for (const [file, { expression }] of Object.entries(REFUSED_HERE)) {
      expected[file] = [expression, /[^.\]]+$/.exec(expression)?.[0]];
    }
    expect(withErrors).toEqual(expected);
  });

  it('the transactions the dry run refuses are refused when POSTed, at the same entry; none stored', async () => {
    for (const { file, resource } of ALL_EXAMPLES.filter((e) => REFUSED_HERE[e.file])) {
      const res = await t.http().post('/fhir').set('Content-Type', FHIR_JSON).send(resource);
      expect(res.status, file).toBeGreaterThanOrEqual(400);
      expect(res.status, file).toBeLessThan(500);
      expect(res.body.issue[0].expression, file).toEqual([REFUSED_HERE[file].expression]);
    }
    expect((await t.http().get('/fhir/Patient').query({ _summary: 'count' })).body.total).toBe(0);
  });
});
