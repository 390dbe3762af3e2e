import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Bundle, Provenance } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, type Keys } from './support.js';
import { CLAIM, CLINICIAN, HELSEID_ISSUER, signHelseIdToken, useHelseIdServer } from './helseid-support.js';
import { loadHelseIdProfile } from '../../src/security/helseid.js';
import { TokenVerifier } from '../../src/security/tokens.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const ORGNR = 'urn:oid:2.16.578.1.12.4.1.4.101';

type Interaction = 'read' | 'search' | 'create' | 'update' | 'delete';
const INTERACTIONS: Interaction[] = ['read', 'search', 'create', 'update', 'delete'];

/**
 * The scope × claim × interaction table for HelseID tokens: what each mapped HelseID scope allows at
 * each security level, a client's own token (no person, no level), and the refusal each gets.
 */
const TABLE: [scope: string, person: 'level 4' | 'level 3' | 'client', allowed: Interaction[], refusal: RegExp][] = [
  ['nhn:forlop/read', 'level 4', ['read', 'search'], /scopes do not allow (create|update|delete) on Patient/],
  ['nhn:forlop/read', 'level 3', ['read', 'search'], /Writes need HelseID security level 4; this token's is 3/],
  ['nhn:forlop/write', 'level 4', INTERACTIONS, /-/],
  ['nhn:forlop/write', 'level 3', ['read', 'search'], /Writes need HelseID security level 4; this token's is 3/],
  ['nhn:forlop/system-read', 'client', ['read', 'search'], /scopes do not allow (create|update|delete) on Patient/],
  ['nhn:forlop/system', 'client', INTERACTIONS, /-/],
  ['openid profile', 'level 4', [], /scopes do not allow (read|search|create|update|delete) on Patient/],
];

describe.each(BACKENDS)('HelseID tokens, on $name', (backend) => {
  const t = useHelseIdServer(backend, () => keys, { dpop: 'allowed', audit: true });
  const bearer = async (claims: Record<string, unknown>, audience?: string | string[]) =>
    `Bearer ${await signHelseIdToken(keys, claims, { now: t.clock.now(), audience })}`;
  const claimsFor = (scope: string, person: string): Record<string, unknown> =>
    person === 'client'
      ? { scope, client_id: 'system-client', [CLAIM.parent]: '983974899', [CLAIM.clientName]: 'Batch' }
      : { ...CLINICIAN, scope, [CLAIM.level]: person === 'level 3' ? '3' : '4' };

  const run = async (interaction: Interaction, auth: string, id: string) => {
    const body = { resourceType: 'Patient', id, name: [{ family: 'Tabell' }] };
    const http = t.http();
    switch (interaction) {
      case 'read':
        return http.get('/fhir/Patient/table-base').set('Authorization', auth);
      case 'search':
        return http.get('/fhir/Patient?family=Tabell').set('Authorization', auth);
      case 'create':
        return http.post('/fhir/Patient').set('Authorization', auth).set('Content-Type', FHIR_JSON).send(body);
      case 'update':
        return http.put(`/fhir/Patient/${id}`).set('Authorization', auth).set('Content-Type', FHIR_JSON).send(body);
      case 'delete':
        return http.delete(`/fhir/Patient/${id}`).set('Authorization', auth);
    }
  };

  beforeAll(async () => {
    const auth = await bearer(claimsFor('nhn:forlop/system', 'client'));
    for (const id of ['table-base', 'table-u', 'table-d']) {
      const res = await t
        .http()
        .put(`/fhir/Patient/${id}`)
        .set('Authorization', auth)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', id, name: [{ family: 'Tabell' }] });
      expect(res.status).toBe(201);
    }
  });

  it.each(TABLE)('%s, %s: allows %j', async (scope, person, allowed, refusal) => {
    const auth = await bearer(claimsFor(scope, person));
    for (const interaction of INTERACTIONS) {
      const id = interaction === 'delete' ? 'table-d' : 'table-u';
      const res = await run(interaction, auth, id);
      if (allowed.includes(interaction)) expect(res.status, interaction).toBeLessThan(300);
      else {
        expect(res.status, interaction).toBe(403);
        expect(res.body.issue[0].diagnostics, interaction).toMatch(refusal);
      }
    }
  });

  it('a token for this API and another is accepted (NHN: should be the only audience; a warning)', async () => {
    const auth = await bearer({ ...CLINICIAN, scope: 'nhn:forlop/read' }, ['nhn:forlop', 'nhn:another']);
    expect((await t.http().get('/fhir/Patient/table-base').set('Authorization', auth)).status).toBe(200);
    const warnings: string[] = [];
    const helseid = { ...loadHelseIdProfile(), writeSecurityLevel: 4 };
    const config = { issuer: HELSEID_ISSUER, audience: 'nhn:forlop', jwks: keys.jwksFile, helseid };
    const verifier = new TokenVerifier({ ...config, warn: (m) => warnings.push(m) }, t.clock);
    await verifier.verify(auth.slice('Bearer '.length));
    expect(warnings).toEqual(['HelseID access token with 2 audiences (NHN: this API should be the only one)']);
  });

  it('the SMART configuration and the CapabilityStatement say HelseID and DPoP', async () => {
    const smart = await t.http().get('/fhir/.well-known/smart-configuration');
    expect(smart.body.scopes_supported).toEqual([
      'nhn:forlop/read',
      'nhn:forlop/write',
      'nhn:forlop/system-read',
      'nhn:forlop/system',
    ]);
    expect(smart.body.dpop_signing_alg_values_supported).toContain('ES256');
    expect(smart.body.dpop_bound_access_tokens_required).toBe(false);
    const metadata = await t.http().get('/fhir/metadata');
    expect(metadata.body.rest[0].security.description).toMatch(/^HelseID access tokens \(typ at\+jwt or JWT\)/);
    expect(metadata.body.rest[0].security.description).toContain('as Bearer or DPoP-bound');
    expect(metadata.body.rest[0].security.description).toContain(
      'The websocket takes the same tokens on its upgrade request or in bind [id] [token]',
    );
  });

  it('AuditEvents name the person by HPR number and fødselsnummer, the organisations, the client and the level', async () => {
    t.clock.set(new Date('2026-10-03T09:00:00Z'));
    const auth = await bearer({ ...CLINICIAN, scope: 'nhn:forlop/read' });
    expect((await t.http().get('/fhir/Patient/table-base').set('Authorization', auth)).status).toBe(200);
    await t.services.auditLog?.flush();
    const trail = await t
      .http()
      .get('/fhir/AuditEvent?subtype=read&date=2026-10-03')
      .set('Authorization', await bearer(claimsFor('nhn:forlop/system-read', 'client')));
    const event = ((trail.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent)[0];
    expect(event.agent[0]).toMatchObject({
      requestor: true,
      who: { identifier: { system: HPR, value: '565505933' } },
      altId: '13116900216',
      extension: [{ url: 'http://forlop.no/fhir/StructureDefinition/helseid-security-level', valueInteger: 4 }],
      policy: ['urn:smart-scope:user/*.rs'],
    });
    expect(event.agent.slice(1).map((a) => [a.type?.coding?.[0].code, a.who?.identifier])).toEqual([
      ['RESP', { system: ORGNR, value: '983974899' }],
      ['LOC', { system: ORGNR, value: '974705788' }],
      ['110150', { value: 'helseid-client-1' }],
    ]);
    expect(event.agent[3].who?.display).toBe('Forløp EPJ-test');
    expect(event.entity?.[0].what?.reference).toBe('Patient/table-base');
  });

  it('a person without an HPR number is named by fødselsnummer', async () => {
    t.clock.set(new Date('2026-10-04T09:00:00Z'));
    const auth = await bearer({ ...CLINICIAN, [CLAIM.hpr]: undefined, scope: 'nhn:forlop/read' });
    expect((await t.http().get('/fhir/Patient/table-base').set('Authorization', auth)).status).toBe(200);
    await t.services.auditLog?.flush();
    const trail = await t
      .http()
      .get('/fhir/AuditEvent?subtype=read&date=2026-10-04')
      .set('Authorization', await bearer(claimsFor('nhn:forlop/system-read', 'client')));
    const event = ((trail.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent)[0];
    expect(event.agent[0].who?.identifier).toEqual({ system: FNR, value: '13116900216' });
    expect(event.agent[0].altId).toBeUndefined();
  });

  it("a write's Provenance (X-Provenance) gets the HelseID person and organisation as agents", async () => {
    const auth = await bearer({ ...CLINICIAN, scope: 'nhn:forlop/write' });
    const given = { resourceType: 'Provenance', agent: [{ who: { display: 'EPJ' } }] };
    const res = await t
      .http()
      .put('/fhir/Patient/prov-1')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .set('X-Provenance', JSON.stringify(given))
      .send({ resourceType: 'Patient', id: 'prov-1', name: [{ family: 'Prov' }] });
    expect(res.status).toBe(201);
    const found = await t
      .http()
      .get('/fhir/Provenance?target=Patient/prov-1')
      .set('Authorization', await bearer(claimsFor('nhn:forlop/system-read', 'client')));
    const provenance = (found.body as Bundle).entry?.[0].resource as Provenance;
    expect(provenance.agent.map((a) => [a.type?.coding?.[0].code, a.who.identifier ?? a.who.display])).toEqual([
      [undefined, 'EPJ'],
      ['author', { system: HPR, value: '565505933' }],
      ['custodian', { system: ORGNR, value: '974705788' }],
    ]);
    expect(provenance.agent[2].onBehalfOf?.identifier).toEqual({ system: ORGNR, value: '983974899' });
  });
});
