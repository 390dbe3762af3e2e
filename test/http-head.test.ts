import type { Response } from 'supertest';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from './support/server.js';

/** Headers that differ between any two requests (a new request id, the clock, the rate limit's count). */
const PER_REQUEST = /^(date|x-request-id|ratelimit.*|x-ratelimit.*)$/;

function stableHeaders(res: Response): Record<string, string> {
  return Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.test(name)));
}

/** A HEAD answers as the GET of the same URL does: same status and headers, and no body (RFC 9110 §9.3.2). */
async function expectHeadLikeGet(t: TestServer, url: string, accept = FHIR_JSON): Promise<Response> {
  const get = await t.http().get(url).set('Accept', accept);
  const head = await t.http().head(url).set('Accept', accept);
  expect(head.status, url).toBe(get.status);
  expect(stableHeaders(head), url).toEqual(stableHeaders(get));
  expect(head.text ?? '', url).toBe('');
  return get;
}

describe.each(BACKENDS)('HEAD, the base URL and search paging links on $name', (backend) => {
  const logged: Record<string, unknown>[] = [];
  const t = useServer(backend, { log: (entry) => logged.push(entry) });

  const createPatient = async (family: string): Promise<string> => {
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family, given: ['Kari'] }] });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  it('HEAD on reads, vreads, histories and searches answers as GET, without a body', async () => {
    const id = await createPatient('Hodeland');
    const read = await expectHeadLikeGet(t, `/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe('W/"1"');
    expect(read.headers['content-length']).toBe(String(Buffer.byteLength(read.text)));
    expect((await expectHeadLikeGet(t, `/fhir/Patient/${id}/_history/1`)).status).toBe(200);
    expect((await expectHeadLikeGet(t, `/fhir/Patient/${id}/_history`)).status).toBe(200);
    expect((await expectHeadLikeGet(t, '/fhir/Patient/_history')).status).toBe(200);
    expect((await expectHeadLikeGet(t, '/fhir/_history')).status).toBe(200);
    const search = await expectHeadLikeGet(t, '/fhir/Patient?family=Hodeland');
    expect(search.body.total).toBe(1);
    expect((await expectHeadLikeGet(t, `/fhir/Patient/${id}/Observation`)).status).toBe(200);
  });

  it('HEAD on metadata, the base URL, an operation invoked by GET and the operator endpoints', async () => {
    expect((await expectHeadLikeGet(t, '/fhir/metadata')).body.resourceType).toBe('CapabilityStatement');
    expect((await expectHeadLikeGet(t, '/fhir')).body.resourceType).toBe('CapabilityStatement');
    const lookup = '/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/administrative-gender&code=female';
    const looked = await expectHeadLikeGet(t, lookup);
    expect(looked.status).toBe(200);
    expect(looked.body.resourceType).toBe('Parameters');
    expect((await expectHeadLikeGet(t, '/healthz', 'application/json')).status).toBe(200);
    expect((await expectHeadLikeGet(t, '/readyz', 'application/json')).status).toBe(200);
  });

  it('HEAD on what is not there, or not allowed by GET, answers with GET status and headers', async () => {
    expect((await expectHeadLikeGet(t, '/fhir/Patient/no-such-patient')).status).toBe(404);
    expect((await expectHeadLikeGet(t, '/fhir/NoSuchType')).status).toBe(404);
    // $reindex is invoked by POST only: GET (and so HEAD) is refused with 405
    expect((await expectHeadLikeGet(t, '/fhir/$reindex')).status).toBe(405);
    const bad = await expectHeadLikeGet(t, '/fhir/Patient?_count=many');
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
  });

  it('the request log records a HEAD as HEAD, not as the GET it was answered as', async () => {
    const head = await t.http().head('/fhir/metadata');
    const entry = logged.find((e) => e.requestId === head.headers['x-request-id']);
    expect(entry).toMatchObject({ method: 'HEAD', path: '/fhir/metadata', status: 200 });
  });

  it('GET on the base URL gives a FHIR client the CapabilityStatement, and sends a browser to the app', async () => {
    const base = await t.http().get('/fhir').set('Accept', FHIR_JSON);
    expect(base.status).toBe(200);
    expect(base.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    const metadata = await t.http().get('/fhir/metadata').set('Accept', FHIR_JSON);
    expect(base.body).toEqual(metadata.body);
    const slash = await t.http().get('/fhir/').set('Accept', 'application/json');
    expect(slash.status).toBe(200);
    expect(slash.body).toEqual(metadata.body);
    const browser = await t.http().get('/fhir').set('Accept', 'text/html,application/xhtml+xml');
    expect(browser.status).toBe(302);
    expect(browser.headers.location).toBe('/app/');
    const browserHead = await t.http().head('/fhir').set('Accept', 'text/html,application/xhtml+xml');
    expect(browserHead.status).toBe(302);
    expect(browserHead.headers.location).toBe('/app/');
  });

  it('POST and other methods on the base URL keep their meaning; an unknown mode is a 400 outcome', async () => {
    const put = await t.http().put('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle' });
    expect(put.status).toBe(405);
    expect(put.body.resourceType).toBe('OperationOutcome');
    const bad = await t.http().get('/fhir?mode=everything').set('Accept', FHIR_JSON);
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    expect(bad.body.issue[0].expression).toEqual(['mode']);
  });

  const linkOf = (res: Response, relation: string): string | undefined =>
    (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === relation)?.url;
  const pathOf = (url: string) => url.replace('http://forlop.test', '');

  it('search bundles have first and last links (R4 §3.1.1.5.6); last leads to the page of the last match', async () => {
    for (let i = 0; i < 5; i++) await createPatient('Sidesen');
    const page1 = await t.http().get('/fhir/Patient?family=Sidesen&_count=2');
    expect(page1.status).toBe(200);
    expect(page1.body.total).toBe(5);
    expect(page1.body.link.map((l: { relation: string }) => l.relation)).toEqual(['self', 'first', 'next', 'last']);
    expect(linkOf(page1, 'first')).toMatch(/[?&]_count=2&_snapshot=\d+$/);
    expect(linkOf(page1, 'first')).not.toContain('_offset');
    expect(linkOf(page1, 'last')).toMatch(/[?&]_count=2&_offset=4&_snapshot=\d+$/);

    const last = await t.http().get(pathOf(linkOf(page1, 'last')!));
    expect(last.status).toBe(200);
    expect(last.body.entry).toHaveLength(1);
    expect(linkOf(last, 'next')).toBeUndefined();
    expect(linkOf(last, 'previous')).toMatch(/_offset=2&/);
    expect(linkOf(last, 'last')).toBe(linkOf(page1, 'last'));
    expect(linkOf(last, 'first')).toBe(linkOf(page1, 'first'));

    const first = await t.http().get(pathOf(linkOf(last, 'first')!));
    expect(first.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(
      page1.body.entry.map((e: { resource: { id: string } }) => e.resource.id),
    );
  });

  it('a search whose matches fill whole pages, or that has none, gets a last link to a real page', async () => {
    const even = await t.http().get('/fhir/Patient?family=Sidesen&_count=5');
    expect(linkOf(even, 'last')).toMatch(/[?&]_count=5&_snapshot=\d+$/);
    expect(linkOf(even, 'next')).toBeUndefined();
    const none = await t.http().get('/fhir/Patient?family=Ingensteds&_count=3');
    expect(none.body.total).toBe(0);
    expect(linkOf(none, 'first')).toBeDefined();
    expect(linkOf(none, 'last')).toBe(linkOf(none, 'first'));
  });

  it('without a total there is no last link, and _count=0 (the total alone) has no pages to link', async () => {
    const noTotal = await t.http().get('/fhir/Patient?family=Sidesen&_count=2&_total=none');
    expect(noTotal.body.total).toBeUndefined();
    expect(noTotal.body.link.map((l: { relation: string }) => l.relation)).toEqual(['self', 'first', 'next']);
    const countOnly = await t.http().get('/fhir/Patient?family=Sidesen&_count=0');
    expect(countOnly.body.total).toBe(5);
    expect(linkOf(countOnly, 'last')).toBeUndefined();
    expect(linkOf(countOnly, 'first')).toBeDefined();
  });

  it('compartment searches page with first and last links too', async () => {
    const id = await createPatient('Rommet');
    const res = await t.http().get(`/fhir/Patient/${id}/Observation?_count=10`);
    expect(res.status).toBe(200);
    expect(linkOf(res, 'first')).toContain(`/Patient/${id}/Observation?`);
    expect(linkOf(res, 'last')).toBe(linkOf(res, 'first'));
  });
});
