import { describe, expect, it } from 'vitest';
import type request from 'supertest';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { xmlModel } from '../../src/xml/model.js';
import { resourceFromXml } from '../../src/xml/read.js';
import { resourceToXml } from '../../src/xml/write.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';

/**
 * FHIR XML over HTTP (docs/xml.md): bodies read and responses written as application/fhir+xml on every
 * interaction and operation, negotiated by `_format`, Accept or the body's own type, on both backends.
 * XML responses are read back with the converter the round-trip test checks against all R4 examples.
 */
const FHIR_XML = 'application/fhir+xml';
const model = xmlModel(loadDefinitions().structures);
const asXml = (r: object) => resourceToXml(model, r as Record<string, unknown>);
type Json = Record<string, any>;

/** supertest leaves unknown media types unread: take the body as text. */
function text(req: request.Test): request.Test {
  return req.buffer(true).parse((res, done) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => done(null, body));
  });
}

/** The response as XML: its media type checked, its body read as the resource it is. */
function xmlResource(res: request.Response): Json {
  expect(res.headers['content-type']).toBe('application/fhir+xml; charset=utf-8');
  expect(res.body as string).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
  return resourceFromXml(model, res.body as string, 64);
}

const PATIENT_XML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment is not content -->
<Patient xmlns="http://hl7.org/fhir">
  <text>
    <status value="generated"/>
    <div xmlns="http://www.w3.org/1999/xhtml"><p>Kari <b>Nordmann</b> &amp; co</p></div>
  </text>
  <contained>
    <Organization>
      <id value="gp"/>
      <name value="Legekontoret"/>
    </Organization>
  </contained>
  <active value="true"/>
  <name id="n1">
    <family value="Nordmann"/>
    <given value="Kari"/>
    <given>
      <extension url="http://example.org/fhir/StructureDefinition/nickname">
        <valueString value="Kaja"/>
      </extension>
    </given>
  </name>
  <gender value="female"/>
  <birthDate value="1985-04-12"/>
  <multipleBirthInteger value="2"/>
  <generalPractitioner>
    <reference value="#gp"/>
  </generalPractitioner>
</Patient>`;

const PATIENT_JSON = {
  resourceType: 'Patient',
  text: {
    status: 'generated',
    div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Kari <b>Nordmann</b> &amp; co</p></div>',
  },
  contained: [{ resourceType: 'Organization', id: 'gp', name: 'Legekontoret' }],
  active: true,
  name: [
    {
      id: 'n1',
      family: 'Nordmann',
      given: ['Kari', null],
      _given: [
        null,
        { extension: [{ url: 'http://example.org/fhir/StructureDefinition/nickname', valueString: 'Kaja' }] },
      ],
    },
  ],
  gender: 'female',
  birthDate: '1985-04-12',
  multipleBirthInteger: 2,
  generalPractitioner: [{ reference: '#gp' }],
};

const withoutMeta = ({ id: _id, meta: _meta, ...rest }: Json) => rest;

describe.each(BACKENDS)('FHIR XML over HTTP on $name', (backend) => {
  const t = useServer(backend);
  let id = '';

  it('creates from an XML body; the JSON read is the same resource', async () => {
    const created = await text(t.http().post('/fhir/Patient').set('Content-Type', FHIR_XML).send(PATIENT_XML));
    expect(created.status).toBe(201);
    // no Accept: the answer comes in the body's own format
    const body = xmlResource(created);
    id = body.id;
    expect(created.headers.location).toContain(`/Patient/${id}/_history/1`);
    const read = await t.http().get(`/fhir/Patient/${id}`).set('Accept', FHIR_JSON);
    expect(read.status).toBe(200);
    expect(withoutMeta(read.body)).toEqual(PATIENT_JSON);
    expect(withoutMeta(body)).toEqual(PATIENT_JSON);
  });

  it('reads as XML by _format, Accept and the XML media types, and indents with _pretty', async () => {
    const json = (await t.http().get(`/fhir/Patient/${id}`)).body;
    for (const ask of ['xml', 'application/fhir+xml', 'application/xml', 'text/xml']) {
      const res = await text(t.http().get(`/fhir/Patient/${id}`).query({ _format: ask }));
      expect(res.status).toBe(200);
      expect(xmlResource(res)).toEqual(json);
    }
    const accepted = await text(t.http().get(`/fhir/Patient/${id}`).set('Accept', FHIR_XML));
    expect(xmlResource(accepted)).toEqual(json);
    expect(accepted.headers.etag).toBe('W/"1"');
    const weighted = await text(t.http().get(`/fhir/Patient/${id}`).set('Accept', `${FHIR_JSON};q=0.5, ${FHIR_XML}`));
    expect(xmlResource(weighted)).toEqual(json);
    const pretty = await text(t.http().get(`/fhir/Patient/${id}`).query({ _format: 'xml', _pretty: 'true' }));
    expect(pretty.body).toContain('\n<Patient xmlns="http://hl7.org/fhir">\n  <id value=');
    expect(xmlResource(pretty)).toEqual(json);
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const fromBrowser = await t.http().get(`/fhir/Patient/${id}`).set('Accept', browser);
    expect(fromBrowser.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    const listed = await text(t.http().get(`/fhir/Patient/${id}`).set('Accept', `${FHIR_XML}, text/html;q=0.1`));
    expect(xmlResource(listed)).toEqual(json);
    // _format wins over Accept
    const both = await t.http().get(`/fhir/Patient/${id}`).query({ _format: 'json' }).set('Accept', FHIR_XML);
    expect(both.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
  });

  it('updates from XML, and vread and history answer in XML', async () => {
    const changed = asXml({ ...PATIENT_JSON, id, gender: 'other' });
    const put = await t
      .http()
      .put(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_XML)
      .set('Accept', FHIR_JSON)
      .send(changed);
    expect(put.status).toBe(200);
    expect(put.body.gender).toBe('other');
    const v1 = xmlResource(await text(t.http().get(`/fhir/Patient/${id}/_history/1?_format=xml`)));
    expect(v1.gender).toBe('female');
    const history = xmlResource(await text(t.http().get(`/fhir/Patient/${id}/_history`).set('Accept', FHIR_XML)));
    expect(history.resourceType).toBe('Bundle');
    expect(history.type).toBe('history');
    expect(history.entry.map((e: Json) => e.resource.meta.versionId)).toEqual(['2', '1']);
  });

  it('answers a search with a Bundle in XML', async () => {
    const res = await text(t.http().get('/fhir/Patient').query({ family: 'Nordmann', _format: 'xml' }));
    expect(res.status).toBe(200);
    const bundle = xmlResource(res);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(bundle.entry[0].resource).toMatchObject({ resourceType: 'Patient', id, gender: 'other' });
    expect(bundle.entry[0].search).toEqual({ mode: 'match' });
    expect(bundle.link.find((l: Json) => l.relation === 'self').url).toContain('/fhir/Patient?');
  });

  it('runs a transaction Bundle posted as XML, references resolved', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0',
          resource: { resourceType: 'Patient', name: [{ family: 'Transaksjon' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'weight' },
            subject: { reference: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0' },
            valueQuantity: { value: 72.5, unit: 'kg' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const res = await text(t.http().post('/fhir').set('Content-Type', FHIR_XML).send(asXml(bundle)));
    expect(res.status).toBe(200);
    const response = xmlResource(res);
    expect(response.type).toBe('transaction-response');
    expect(response.entry.map((e: Json) => e.response.status)).toEqual(['201 Created', '201 Created']);
    const obsId = response.entry[1].response.location.split('/')[1];
    const obs = await t.http().get(`/fhir/Observation/${obsId}`);
    expect(obs.body.subject.reference).toMatch(/^Patient\/[^/]+$/);
    expect(obs.body.valueQuantity).toEqual({ value: 72.5, unit: 'kg' });
  });

  it('runs an operation with Parameters in XML and its OperationOutcome out in XML', async () => {
    const params = {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Patient', birthDate: 'tomorrow' } }],
    };
    const res = await text(t.http().post('/fhir/Patient/$validate').set('Content-Type', FHIR_XML).send(asXml(params)));
    expect(res.status).toBe(200);
    const outcome = xmlResource(res);
    expect(outcome.resourceType).toBe('OperationOutcome');
    const errors = outcome.issue.filter((i: Json) => i.severity === 'error');
    expect(errors.flatMap((i: Json) => i.expression)).toContain('Patient.birthDate');
  });

  it('serves the CapabilityStatement in XML, naming XML among its formats', async () => {
    const statement = xmlResource(await text(t.http().get('/fhir/metadata?_format=xml')));
    expect(statement.resourceType).toBe('CapabilityStatement');
    expect(statement.format).toEqual(expect.arrayContaining(['application/fhir+xml', 'xml', 'application/fhir+json']));
    expect(statement.rest[0].resource.length).toBeGreaterThan(100);
  });

  it('answers HEAD with _format=xml as the GET: same status and headers, no body', async () => {
    const get = await text(t.http().get(`/fhir/Patient/${id}?_format=xml`));
    const head = await t.http().head(`/fhir/Patient/${id}?_format=xml`);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/fhir+xml; charset=utf-8');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.body as string)));
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.text ?? '').toBe('');
  });

  it('refuses malformed XML with a 400 OperationOutcome in XML', async () => {
    const res = await text(
      t
        .http()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_XML)
        .send('<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>'),
    );
    expect(res.status).toBe(400);
    const outcome = xmlResource(res);
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].diagnostics).toMatch(/not well-formed XML.*line 1/);
  });

  it('refuses a DOCTYPE with an entity (XXE) with a 400, and reads no file', async () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY secret SYSTEM "file:///etc/hostname">]>' +
      '<Patient xmlns="http://hl7.org/fhir"><name><family value="&secret;"/></name></Patient>';
    const res = await text(t.http().post('/fhir/Patient').set('Content-Type', FHIR_XML).send(xxe));
    expect(res.status).toBe(400);
    const outcome = xmlResource(res);
    expect(outcome.issue[0].diagnostics).toMatch(/document type declaration/);
    const found = await t.http().get('/fhir/Patient').query({ _count: '100' });
    expect(found.body.entry.every((e: Json) => e.resource.name?.[0]?.family !== undefined)).toBe(true);
  });

  it('refuses an unknown element as the JSON path does: 422 naming it', async () => {
    const xml =
      '<Patient xmlns="http://hl7.org/fhir"><name><family value="X"/><nickname value="Y"/></name>' +
      '<favouriteColour value="blue"/></Patient>';
    const viaXml = await text(t.http().post('/fhir/Patient').set('Content-Type', FHIR_XML).send(xml));
    const viaJson = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family: 'X', nickname: 'Y' }], favouriteColour: 'blue' });
    expect(viaJson.status).toBe(422);
    expect(viaXml.status).toBe(422);
    const outcome = xmlResource(viaXml);
    const where = (issues: Json[]) => issues.flatMap((i) => i.expression).sort();
    expect(where(outcome.issue)).toEqual(['Patient.favouriteColour', 'Patient.name[0].nickname']);
    expect(where(outcome.issue)).toEqual(where(viaJson.body.issue));
  });

  it('accepts nulls that align a primitive array with its _name twin, and refuses a null with no twin', async () => {
    const aligned = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ given: ['A', null], _given: [null, { id: 'g2' }] }] });
    expect(aligned.status).toBe(201);
    expect(aligned.body.name[0]._given).toEqual([null, { id: 'g2' }]);
    const lone = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ given: ['A', null], _given: [{ id: 'g1' }] }] });
    expect(lone.status).toBe(422);
    expect(lone.body.issue.flatMap((i: Json) => i.expression)).toEqual(['Patient.name[0].given[1]']);
  });

  it('refuses a value not of its type as the JSON path does (422 at the element)', async () => {
    const xml = '<Patient xmlns="http://hl7.org/fhir"><active value="maybe"/></Patient>';
    const res = await t.http().post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_JSON).send(xml);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Patient.active']);
  });

  it('answers errors in XML when asked: a 404 read', async () => {
    const res = await text(t.http().get('/fhir/Patient/does-not-exist').set('Accept', FHIR_XML));
    expect(res.status).toBe(404);
    expect(xmlResource(res).resourceType).toBe('OperationOutcome');
  });

  it('keeps Turtle 406 and JSON Patch JSON-only (415 for an XML patch)', async () => {
    const turtle = await t.http().get(`/fhir/Patient/${id}?_format=ttl`);
    expect(turtle.status).toBe(406);
    expect(turtle.body.resourceType).toBe('OperationOutcome');
    expect((await t.http().get(`/fhir/Patient/${id}`).set('Accept', 'text/turtle')).status).toBe(406);
    const patch = await t
      .http()
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_XML)
      .send('<Parameters xmlns="http://hl7.org/fhir"/>');
    expect(patch.status).toBe(415);
  });

  it('leaves the non-FHIR routes alone', async () => {
    const health = await t.http().get('/healthz').set('Accept', FHIR_XML);
    expect(health.headers['content-type']).not.toContain('xml');
  });
});
