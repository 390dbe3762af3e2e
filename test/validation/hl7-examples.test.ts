import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { ALL_EXAMPLES, GENUINELY_INVALID } from '../support/hl7-examples.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';

/** Every instance example of the R4 specification, through `$validate` against base R4. */
describe.each(BACKENDS)('the 711 HL7 R4 examples, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);

  it('validate with no error, except those the specification itself gets wrong', async () => {
    expect(ALL_EXAMPLES).toHaveLength(711);
    const withErrors: Record<string, (string | undefined)[]> = {};
    for (const { file, resource } of ALL_EXAMPLES) {
      const res = await t.http().post(`/fhir/${resource.resourceType}/$validate`).set('Content-Type', FHIR_JSON).send(resource);
      expect(res.status).toBe(200);
      const errors = (res.body.issue as { severity: string; expression?: string[] }[]).filter((i) => i.severity === 'error' || i.severity === 'fatal');
      // the first error, and which elements the errors are about (qs1: 32 items without a linkId)
      if (errors.length) withErrors[file] = [errors[0].expression?.[0] ?? '', ...new Set(errors.map((e) => /[^.\]]+$/.exec(e.expression?.[0] ?? '')?.[0]))];
    }
    const expected = Object.fromEntries(Object.entries(GENUINELY_INVALID).map(([file, { expression }]) => [file, [expression, /[^.\]]+$/.exec(expression)?.[0]]]));
    expect(withErrors).toEqual(expected);
  });
});
