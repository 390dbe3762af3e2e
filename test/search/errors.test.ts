import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';

/** Every malformed search is a 400 OperationOutcome naming the parameter (R4 §3.1.1.5.11). */
const CASES: [query: string, expression: string][] = [
  ['Patient?birthdate=2020-13-01', 'birthdate'],
  ['Patient?birthdate=xx2020', 'birthdate'],
  ['Patient?birthdate=2020-02-30', 'birthdate'],
  ['Patient?_lastUpdated=yesterday', '_lastUpdated'],
  ['RiskAssessment?probability=high', 'probability'],
  ['Observation?value-quantity=gt|kg', 'value-quantity'],
  ['Patient?name:fuzzy=x', 'name:fuzzy'],
  ['Patient?gender:in=http://example.org/ValueSet/not-known', 'gender:in'],
  ['Patient?gender:of-type=a|b|c', 'gender:of-type'],
  ['Patient?identifier:of-type=MR|123', 'identifier:of-type'],
  ['Patient?name:missing=maybe', 'name:missing'],
  ['Observation?subject=not a valid id!', 'subject'],
  ['Observation?subject:Group=Patient/1', 'subject:Group'],
  ['Observation?component-code-value-quantity=8480-6', 'component-code-value-quantity'],
  ['CarePlan?subject.nonsense=1', 'subject.nonsense'],
  ['CarePlan?subject:Observation.code=x', 'subject:Observation.code'],
  ['Patient?_has:Observation:nonsense:code=x', '_has:Observation:nonsense:code'],
  ['Patient?_has:Observation', '_has:Observation'],
  ['CarePlan?_include=CarePlan', '_include'],
  ['CarePlan?_include=CarePlan:status', '_include'],
  ['CarePlan?_include=CarePlan:subject:Unicorn', '_include'],
  ['CarePlan?_revinclude:iterate=Unicorn:subject', '_revinclude:iterate'],
  ['Patient?_count=ten', '_count'],
  ['Patient?_offset=-1', '_offset'],
  ['Patient?_sort=shoe-size', '_sort'],
  ['Patient?_total=maybe', '_total'],
  ['Patient?_summary=all', '_summary'],
  ['Patient?_snapshot=x', '_snapshot'],
];

describe.each(BACKENDS)('search errors on $name', (backend) => {
  const t = useServer(backend);
  it.each(CASES)('%s → 400 naming %s', async (query, expression) => {
    const res = await t.http().get(`/fhir/${query}`);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].severity).toBe('error');
    expect(res.body.issue[0].expression).toEqual([expression]);
  });
  it('the same via POST _search', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient/_search')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('birthdate=notadate');
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['birthdate']);
  });
});
