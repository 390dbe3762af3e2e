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

describe.each(BACKENDS)('HEAD and the base URL on $name', (backend) => {
  const t = useServer(backend);

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
});
