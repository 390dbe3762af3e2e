import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { BASE, useFixtures, useServer } from '../support/server.js';
import { CASES, RANGE_CASES, RANGE_RESOURCES, RESOURCES } from './basic-cases.js';

describe.each(BACKENDS)('search on $name', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => [...RESOURCES, ...RANGE_RESOURCES]);

  for (const [group, cases] of Object.entries({ ...CASES, 'date ranges': RANGE_CASES })) {
    it.each(cases)(`${group}: $query`, async ({ query, ids, ordered }) => {
      const res = await t.http().get(`/fhir/${query}`);
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('searchset');
      const got: string[] = (res.body.entry ?? [])
        .filter((e: { search: { mode: string } }) => e.search.mode === 'match')
        .map((e: { resource: { id: string } }) => e.resource.id);
      if (ordered) expect(got).toEqual(ids);
      else expect([...got].sort()).toEqual([...ids].sort());
      if (!query.includes('_count')) expect(res.body.total).toBe(ids.length);
    });
  }

  it('links: self shows the parameters used; next and previous page through', async () => {
    const first = await t.http().get('/fhir/Patient?_sort=_id&_count=2&unknown-param=1');
    const self = first.body.link.find((l: { relation: string }) => l.relation === 'self').url;
    expect(self).toBe(`${BASE}/Patient?_sort=_id&_count=2`);
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next').url;
    const second = await t.http().get(next.replace(BASE, '/fhir'));
    expect(second.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['p-soren', 'p-sorli']);
    expect(second.body.link.find((l: { relation: string }) => l.relation === 'previous')).toBeDefined();
    expect(
      first.body.entry.every((e: { search: { mode: string } }) => ['match', 'outcome'].includes(e.search.mode)),
    ).toBe(true);
  });

  it('_summary=count, _total=none, _elements and POST _search', async () => {
    const count = await t.http().get('/fhir/Patient?gender=male&_summary=count');
    expect(count.body.total).toBe(2);
    expect(count.body.entry ?? []).toHaveLength(0);
    const none = await t.http().get('/fhir/Patient?gender=male&_total=none');
    expect(none.body.total).toBeUndefined();
    expect(none.body.entry).toHaveLength(2);
    const text = await t.http().get('/fhir/Patient?_id=p-soren&_summary=text');
    expect(Object.keys(text.body.entry[0].resource).sort()).toEqual(['id', 'meta', 'resourceType']);
    expect(text.body.entry[0].resource.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const data = await t.http().get('/fhir/Patient?_id=p-soren&_summary=data');
    expect(data.body.entry[0].resource.name[0].family).toBe('Sørensen');
    expect(data.body.entry[0].resource.text).toBeUndefined();
    const summary = await t.http().get('/fhir/Patient?_id=p-soren&_summary=true');
    expect(summary.body.entry[0].resource.birthDate).toBe('1970-03-15');
    expect(summary.body.entry[0].resource.address).toBeDefined();
    const el = await t.http().get('/fhir/Patient?_id=p-soren&_elements=gender');
    expect(Object.keys(el.body.entry[0].resource).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
    const post = await t
      .http()
      .post('/fhir/Patient/_search')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('family=sor&gender=male');
    expect(post.status).toBe(200);
    expect(post.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['p-sorli']);
  });

  it('a search value with SQL in it is only a value', async () => {
    for (const q of [
      "family=x' OR '1'='1",
      'identifier=a|b%27;DROP TABLE resources;--',
      'birthdate=1970-01-01;DELETE',
      '_id=1) OR (1=1',
      'name:contains=%25',
      'family=_',
      'address-city:contains=%5C',
    ]) {
      const res = await t.http().get(`/fhir/Patient?${q}`);
      expect([200, 400]).toContain(res.status);
      if (res.status === 200) expect(res.body.total ?? 0).toBe(0);
    }
    expect((await t.http().get('/fhir/Patient?_summary=count')).body.total).toBe(4);
  });
});
