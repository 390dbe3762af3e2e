import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useFixtures, useServer } from '../support/server.js';
import { CONDITIONS, CS, OID, TEST_CS, useTerminology, VS } from './support.js';

const condition = (id: string, code: string) => ({
  resourceType: 'Condition',
  id,
  subject: { reference: 'Patient/p1' },
  code: { coding: [{ system: TEST_CS, code }] },
});
const procedure = (id: string, system: string, code: string) => ({
  resourceType: 'Procedure',
  id,
  status: 'completed',
  subject: { reference: 'Patient/p1' },
  code: { coding: [{ system, code }] },
});

describe.each(BACKENDS)('token :in, :not-in, :below, :above ($name)', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  useFixtures(t, () => [
    CONDITIONS,
    {
      resourceType: 'ValueSet',
      id: 'severe',
      url: 'http://forlop.test/ValueSet/severe',
      status: 'active',
      compose: { include: [{ system: TEST_CS, filter: [{ property: 'severity', op: '=', value: 'high' }] }] },
    },
    { resourceType: 'Patient', id: 'p1' },
    condition('c-psy', 'psychosis'),
    condition('c-sch', 'schizophrenia'),
    condition('c-ocd', 'ocd'),
    condition('c-eat', 'eating'),
    condition('c-sub', 'substance'),
    // pathway codes as EHRs send them: with the Volven OID, or with our canonical url
    procedure('pr-d07ue', OID('9327'), 'D07UE'),
    procedure('pr-d07t', CS('9327'), 'D07T'),
    procedure('pr-d11a', OID('9327'), 'D11A'),
  ]);
  const ids = async (query: string) => {
    const res = await t.http().get(`/fhir/${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id).sort();
  };

  it(':in a value set (filter by property)', async () => {
    expect(await ids('Condition?code:in=http://forlop.test/ValueSet/severe')).toEqual(['c-eat', 'c-psy', 'c-sch']);
  });

  it(':not-in a value set', async () => {
    expect(await ids('Condition?code:not-in=http://forlop.test/ValueSet/severe')).toEqual(['c-ocd', 'c-sub']);
  });

  it(':below and :above follow the hierarchy (nesting and the parent property)', async () => {
    expect(await ids(`Condition?code:below=${TEST_CS}|mental`)).toEqual(['c-eat', 'c-ocd', 'c-psy', 'c-sch']);
    expect(await ids(`Condition?code:below=${TEST_CS}|psychosis`)).toEqual(['c-psy', 'c-sch']);
    expect(await ids(`Condition?code:above=${TEST_CS}|schizophrenia`)).toEqual(['c-psy', 'c-sch']);
  });

  it('the pathway value sets find codings carrying the OID or the canonical url', async () => {
    expect(await ids(`Procedure?code:in=${VS('pathway-D07-codes')}`)).toEqual(['pr-d07t', 'pr-d07ue']);
    expect(await ids(`Procedure?code:in=${VS('pathway-D11-codes')}`)).toEqual(['pr-d11a']);
  });

  it('combines with other parameters and chains', async () => {
    expect(await ids('Condition?code:in=http://forlop.test/ValueSet/severe&_id=c-psy,c-ocd')).toEqual(['c-psy']);
    expect(await ids('Patient?_has:Condition:subject:code:in=http://forlop.test/ValueSet/severe')).toEqual(['p1']);
  });

  it.each([
    ['an unknown value set', 'Condition?code:in=http://example.org/ValueSet/none', 'code:in'],
    ['below without a system', 'Condition?code:below=mental', 'code:below'],
    ['below an unknown code', `Condition?code:below=${TEST_CS}|nope`, 'code:below'],
  ])('%s is 400 naming the parameter', async (_name, query, expression) => {
    const res = await t.http().get(`/fhir/${query}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual([expression]);
  });
});
