import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { personNumber, personNumber2032 } from '../support/norwegian-ids.js';
import { useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';
import { at, expectValid, onlyError, validate } from './support.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const DNR = 'urn:oid:2.16.578.1.12.4.1.4.2';
const FHN = 'urn:oid:2.16.578.1.12.4.1.4.3';
const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const ENH = 'urn:oid:2.16.578.1.12.4.1.4.101';
const RESH = 'urn:oid:2.16.578.1.12.4.1.4.102';
const PROFILE = (name: string) => `http://forlop.no/fhir/StructureDefinition/forlop-${name}`;
const MUNICIPALITY = 'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode';
const HNR_TYPE = { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.8327', code: 'HNR' }] };

const patient = (identifier: object[], more: object = {}) => ({
  resourceType: 'Patient',
  identifier,
  name: [{ family: 'Dahl' }],
  ...more,
});
const profiled = (identifier: object[], more: object = {}) =>
  patient(identifier, { meta: { profile: [PROFILE('patient')] }, ...more });

/** Norwegian identifiers (domain notes §5) and the profiles under profiles/. */
describe.each(BACKENDS)('Norwegian rules and our profiles, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);

  it.each([
    ['an ordinary fødselsnummer', FNR, personNumber('150370', 123)],
    ['the no-basis Pasient-1 example', FNR, '13031353453'],
    ['a fødselsnummer in the 2032 format (first check digit with remainder 2)', FNR, personNumber2032('150370', 123)],
    ['a person born in 2005 (individnummer 500–999)', FNR, personNumber('010105', 600)],
    ['a D-nummer (+4 on the first digit)', DNR, personNumber('150370', 123, 'dnr')],
    ['an FH-nummer (first digit 8 or 9)', FHN, '81234567802'],
  ])('accepts %s', async (_what, system, value) => {
    expectValid(await validate(t, patient([{ system, value }]) as never));
  });

  it.each([
    ['a wrong check digit', FNR, '15037012341', 'check digits'],
    ['the no-basis profile example that fails modulus 11', FNR, '13057444850', 'check digits'],
    ['ten digits', FNR, '1503701234', 'must be 11 digits'],
    ['a date that does not exist', FNR, personNumber('310270', 123), 'does not exist'],
    ['an individnummer that fits no year (born 1945 with 600)', FNR, personNumber('010145', 600), 'year of birth'],
    [
      'a D-nummer under the fødselsnummer system',
      FNR,
      personNumber('150370', 123, 'dnr'),
      'is a D-nummer, not a fødselsnummer',
    ],
    [
      'a fødselsnummer under the D-nummer system',
      DNR,
      personNumber('150370', 123),
      'is a fødselsnummer, not a D-nummer',
    ],
  ])('refuses %s at the identifier value', async (_what, system, value, reason) => {
    const e = onlyError(
      await validate(
        t,
        patient([
          { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:x' },
          { system, value },
        ]) as never,
      ),
      'Patient.identifier[1].value',
    );
    expect(e.diagnostics).toContain(reason);
  });

  it('a synthetic test number (+80 on the month) is accepted and flagged as synthetic', async () => {
    const issues = await validate(
      t,
      patient([{ system: FNR, value: personNumber('150370', 123, 'synthetic') }]) as never,
    );
    expectValid(issues);
    expect(at(issues, 'information')).toEqual(['Patient.identifier[0].value']);
    expect(issues[0].diagnostics).toContain('synthetic test number');
  });

  it('a local H-nummer (+40 on the month) is accepted with system HNR, its type and an assigner; without the assigner it is refused once', async () => {
    const value = personNumber('150370', 123, 'hnr');
    expectValid(
      await validate(
        t,
        profiled([{ system: 'HNR', type: HNR_TYPE, value, assigner: { display: 'Helse Nord RHF' } }]) as never,
      ),
    );
    const missing = onlyError(
      await validate(t, profiled([{ system: 'HNR', type: HNR_TYPE, value }]) as never),
      'Patient.identifier[0].assigner',
    );
    expect(missing.diagnostics).toContain('assigner');
    // the profile's HNR slice also asks for the 8327 type
    expect(
      at(await validate(t, profiled([{ system: 'HNR', value, assigner: { display: 'Helse Nord RHF' } }]) as never)),
    ).toEqual(['Patient.identifier[0].type']);
  });

  it('organisasjonsnummer: modulus 11', async () => {
    const org = (value: string) => ({
      resourceType: 'Organization',
      name: 'UNN',
      identifier: [{ system: ENH, value }],
    });
    expectValid(await validate(t, org('974760673') as never));
    expectValid(await validate(t, org('123456785') as never));
    expect(
      onlyError(await validate(t, org('123456789') as never), 'Organization.identifier[0].value').diagnostics,
    ).toContain('organisasjonsnummer');
  });

  it('HPR-nummer and RESH-id are digits', async () => {
    onlyError(
      await validate(t, { resourceType: 'Practitioner', identifier: [{ system: HPR, value: 'HPR12' }] } as never),
      'Practitioner.identifier[0].value',
    );
    onlyError(
      await validate(t, { resourceType: 'Organization', identifier: [{ system: RESH, value: '12a' }] } as never),
      'Organization.identifier[0].value',
    );
  });

  it('kommunenummer: the no-basis municipality extension on Address.district is checked against Volven 3402', async () => {
    const address = (ext: object) =>
      patient([{ system: FNR, value: '13031353453' }], {
        address: [{ district: 'Tromsø', _district: { extension: [{ url: MUNICIPALITY, ...ext }] } }],
      });
    expectValid(
      await validate(
        t,
        address({ valueCoding: { system: 'urn:oid:2.16.578.1.12.4.1.1.3402', code: '5501' } }) as never,
      ),
    );
    const unknown = await validate(
      t,
      address({ valueCoding: { system: 'urn:oid:2.16.578.1.12.4.1.1.3402', code: '1234' } }) as never,
    );
    expect(at(unknown)[0]).toMatch(/^Patient\.address\[0\]\.district\.extension\[0\]\.valueCoding/);
    const wrongType = await validate(t, address({ valueString: '5501' }) as never);
    expect(at(wrongType)).toContain('Patient.address[0].district.extension[0].valueString');
  });

  it('forlop-patient: a Norwegian person identifier and a name are required', async () => {
    const none = await validate(t, {
      resourceType: 'Patient',
      meta: { profile: [PROFILE('patient')] },
      identifier: [{ system: 'http://example.org/mrn', value: '1' }],
    } as never);
    expect(at(none).sort()).toEqual(['Patient', 'Patient.name']);
    expect(none.find((i) => i.expression?.[0] === 'Patient')?.diagnostics).toMatch(/^forlop-pat-1:/);
    expectValid(await validate(t, profiled([{ system: DNR, value: personNumber('150370', 123, 'dnr') }]) as never));
  });

  it('forlop-patient: slices allow one fødselsnummer', async () => {
    const two = await validate(
      t,
      profiled([
        { system: FNR, value: '13031353453' },
        { system: FNR, value: personNumber('150370', 123) },
      ]) as never,
    );
    expect(onlyError(two, 'Patient.identifier').diagnostics).toContain("slice 'FNR' allows at most 1");
  });

  it('the profile can be asked for instead of claimed: $validate?profile=', async () => {
    const bare = { resourceType: 'Patient', identifier: [{ system: 'http://example.org/mrn', value: '1' }] };
    expectValid(await validate(t, bare as never));
    expect(at(await validate(t, bare as never, `?profile=${encodeURIComponent(PROFILE('patient'))}`)).sort()).toEqual([
      'Patient',
      'Patient.name',
    ]);
  });

  it('forlop-practitioner: HPR-nummer (or fødselsnummer) and a name', async () => {
    const prac = (identifier: object[]) => ({
      resourceType: 'Practitioner',
      meta: { profile: [PROFILE('practitioner')] },
      name: [{ family: 'Lege' }],
      identifier,
    });
    expectValid(await validate(t, prac([{ system: HPR, value: '9144900' }]) as never));
    expect(
      onlyError(await validate(t, prac([{ system: 'http://example.org/staff', value: '7' }]) as never), 'Practitioner')
        .diagnostics,
    ).toMatch(/^forlop-prac-1:/);
  });

  it('forlop-organization: ENH or RESH is recommended (a warning, not an error)', async () => {
    const org = (identifier: object[]) => ({
      resourceType: 'Organization',
      meta: { profile: [PROFILE('organization')] },
      name: 'UNN',
      identifier,
    });
    const warned = await validate(t, org([{ system: 'urn:oid:2.16.578.1.12.4.1.2', value: '12345' }]) as never);
    expectValid(warned);
    expect(at(warned, 'warning')).toEqual(['Organization']);
    expect(warned.find((i) => i.severity === 'warning')?.diagnostics).toMatch(/^forlop-org-1:/);
    const fine = await validate(t, org([{ system: RESH, value: '101972' }]) as never);
    expect(fine.filter((i) => i.severity !== 'information')).toEqual([]);
  });

  it('a profile for another type, or an unknown one asked for, is an error; an unknown claimed one a warning', async () => {
    const p = patient([{ system: FNR, value: '13031353453' }]);
    expect(at(await validate(t, { ...p, meta: { profile: [PROFILE('organization')] } } as never))).toEqual(['Patient']);
    expect(at(await validate(t, p as never, '?profile=http://example.org/nothing'))).toEqual(['Patient']);
    const claimed = await validate(t, { ...p, meta: { profile: ['http://example.org/nothing'] } } as never);
    expectValid(claimed);
    expect(at(claimed, 'warning')).toEqual(['Patient.meta.profile']);
  });
});
