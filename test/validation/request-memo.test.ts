import { describe, expect, it } from 'vitest';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';

const PROFILE = 'http://example.org/fhir/StructureDefinition/memo-patient';

const profile = {
  resourceType: 'StructureDefinition',
  url: PROFILE,
  name: 'MemoPatient',
  status: 'active',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Patient', path: 'Patient' },
      { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 },
    ],
  },
};

const patient = (birthDate?: string) => ({
  resourceType: 'Patient',
  meta: { profile: [PROFILE] },
  name: [{ family: 'Memo' }],
  ...(birthDate ? { birthDate } : {}),
});

/**
 * A request reads the terminology generation once and reuses it for its Bundle's entries (issue 21's
 * one read per request); an entry that writes a definition (here a profile) clears what was read, so
 * the entries after it are validated against what it wrote — checked over HTTP in a batch, whose
 * entries commit one by one.
 */
describe.each(BACKENDS)('a request memo of what validation reads, on $name', (backend) => {
  const t = useServer(backend);

  it('validates a batch entry against the profile an earlier entry of the same batch stored', async () => {
    const batch = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        // read before the profile exists: the memo holds the generation without it
        { resource: patient('1980-01-01'), request: { method: 'POST', url: 'Patient' } },
        { resource: profile, request: { method: 'POST', url: 'StructureDefinition' } },
        { resource: patient(), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('1990-02-02'), request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const res = await t.http().post('/fhir').set('Content-Type', FHIR_JSON).send(batch);
    expect(res.status).toBe(200);
    const entries = (res.body as Bundle).entry ?? [];
    expect(entries.map((e) => e.response?.status)).toEqual([
      '201 Created',
      '201 Created',
      '422 Unprocessable Entity',
      '201 Created',
    ]);
    const refused = entries[2].response?.outcome as OperationOutcome;
    expect(refused.issue.some((i) => i.expression?.some((x) => x.includes('birthDate')))).toBe(true);
  });
});
