import type { PlanDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';

const URL = 'http://forlop.no/fhir/PlanDefinition/cache-probe';

function plan(title: string): PlanDefinition {
  return {
    resourceType: 'PlanDefinition',
    url: URL,
    version: '1',
    status: 'active',
    title,
    action: [{ id: 'a', title: 'A' }],
  };
}

describe.each(BACKENDS)('the parsed PlanDefinitions follow every write (%s)', (backend) => {
  const server = useServer(backend);

  it('a changed definition is used at the next lookup, and the cached one cannot be changed', async () => {
    const created = await server.http().post('/fhir/PlanDefinition').send(plan('First')).expect(201);
    expect((await server.services.plans.plan(`${URL}|1`))?.title).toBe('First');
    await server
      .http()
      .put(`/fhir/PlanDefinition/${created.body.id}`)
      .send({ ...plan('Second'), id: created.body.id })
      .expect(200);
    const cached = await server.services.plans.plan(`${URL}|1`);
    expect(cached?.title).toBe('Second');
    expect(await server.services.plans.plan(`${URL}|2`)).toBeUndefined();
    // shared by every request: a caller that tried to change it would change it for all
    expect(() => ((cached as PlanDefinition).action![0].title = 'changed')).toThrow(TypeError);
  });
});
