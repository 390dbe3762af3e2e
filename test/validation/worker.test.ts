import { afterAll, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { ValidationWorker } from '../../src/validation/parallel.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';

/**
 * The validator in a worker thread (used for the pages of large registry reports) answers as the
 * server's own: the same issues, terminology read through the parent's storage, our profiles.
 */
describe.each(BACKENDS)('validation in a worker thread, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  let worker: ValidationWorker | undefined;
  afterAll(async () => {
    await worker?.close();
  });

  it.each<[string, Resource, string[], boolean]>([
    ['a valid patient', { resourceType: 'Patient', name: [{ family: 'Dahl' }], gender: 'female' }, [], false],
    [
      'unknown element and a code outside its required value set',
      { resourceType: 'Patient', gender: 'kvinne', foo: 1 } as unknown as Resource,
      [],
      true,
    ],
    [
      'a code of a shipped Volven code system that is not in it',
      {
        resourceType: 'Procedure',
        status: 'completed',
        subject: { reference: 'Patient/x' },
        code: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9327', code: 'D99Z' }] },
      },
      [],
      true,
    ],
    [
      'a patient against our profile, without a Norwegian person number',
      { resourceType: 'Patient', name: [{ family: 'Dahl' }] },
      ['http://forlop.no/fhir/StructureDefinition/forlop-patient'],
      true,
    ],
  ])('%s: the same issues as in this thread', async (_what, resource, profiles, errors) => {
    worker ??= new ValidationWorker(t.storage, BASE);
    const here = await t.services.validator.validate(resource, { profiles });
    const there = await worker.validate(JSON.stringify(resource), profiles);
    expect(there).toEqual(here);
    expect(here.some((i) => i.severity === 'error')).toBe(errors);
  });

  it('a closed worker refuses work instead of hanging', async () => {
    const closing = new ValidationWorker(t.storage, BASE);
    await closing.close();
    await expect(closing.validate(JSON.stringify({ resourceType: 'Patient' }))).rejects.toThrow(/closed/);
  });
});
