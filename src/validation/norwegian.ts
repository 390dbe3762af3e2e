import type { Identifier, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * Norwegian identifiers (no-basis, HL7 Norway; domain notes §5): the OID systems and their number
 * rules. Check digits: fødselsnummer, D-nummer and H-nummer by modulus 11 (with the 2032 rule for
 * the first check digit), organisasjonsnummer by modulus 11. Synthetic test numbers (+80 on the month,
 * as Skatteetaten's Tenor and NAV's TestNorge issue them) are accepted and flagged.
 */
export const NO_SYSTEMS = {
  FNR: 'urn:oid:2.16.578.1.12.4.1.4.1',
  DNR: 'urn:oid:2.16.578.1.12.4.1.4.2',
  FHN: 'urn:oid:2.16.578.1.12.4.1.4.3',
  HPR: 'urn:oid:2.16.578.1.12.4.1.4.4',
  DUF: 'urn:oid:2.16.578.1.12.4.1.4.5',
  ENH: 'urn:oid:2.16.578.1.12.4.1.4.101',
  RESH: 'urn:oid:2.16.578.1.12.4.1.4.102',
  HER: 'urn:oid:2.16.578.1.12.4.1.2',
  /** A local H-nummer: no-basis uses the literal system "HNR" with a required assigner. */
  HNR: 'HNR',
} as const;

export interface PersonNumber {
  valid: boolean;
  /** What the number is, from its digits: an ordinary fødselsnummer, a D-, H- or FH-nummer. */
  kind?: 'fnr' | 'dnr' | 'hnr' | 'fhn';
  synthetic?: boolean;
  /** The 2032 format: the first check digit computed with a remainder of 1–3. */
  format2032?: boolean;
  reason?: string;
  /** The date of birth the number carries (fødselsnummer, D-nummer, synthetic ones); an H-nummer's is not real. */
  birthDate?: string;
}

const W1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const W2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const weighted = (d: number[], w: number[]) => w.reduce((s, wi, i) => s + wi * d[i], 0);

/** Modulus-11 check digits of an 11-digit person number; k1 by the 2032 rule (remainder 0–3). */
function checkDigits(d: number[]): { ok: boolean; format2032: boolean } {
  const r1 = (weighted(d, W1) + d[9]) % 11;
  const k2 = (11 - (weighted(d, W2) % 11)) % 11;
  return { ok: r1 <= 3 && k2 !== 10 && k2 === d[10], format2032: r1 !== 0 };
}

/** The birth year from the two-digit year and the individnummer (forskrift om folkeregistrering § 2-2). */
function birthYear(yy: number, individ: number): number | undefined {
  if (individ <= 499) return 1900 + yy;
  if (individ <= 749 && yy >= 54) return 1800 + yy;
  if (individ >= 900 && yy >= 40) return 1900 + yy;
  if (individ >= 500 && yy <= 39) return 2000 + yy;
  return undefined;
}

/** Reads an 11-digit Norwegian person number: check digits, date, and which kind it is. */
export function readPersonNumber(value: string): PersonNumber {
  if (!/^\d{11}$/.test(value)) return { valid: false, reason: 'must be 11 digits' };
  const d = [...value].map(Number);
  const { ok, format2032 } = checkDigits(d);
  if (!ok) return { valid: false, reason: 'the check digits (modulus 11) do not match' };
  if (d[0] >= 8) return { valid: true, kind: 'fhn', format2032 };
  let day = d[0] * 10 + d[1];
  let month = d[2] * 10 + d[3];
  let kind: PersonNumber['kind'] = 'fnr';
  let synthetic = false;
  if (day > 40) {
    day -= 40;
    kind = 'dnr';
  }
  if (month > 80) {
    month -= 80;
    synthetic = true;
  } else if (month > 40) {
    month -= 40;
    kind = kind === 'dnr' ? 'dnr' : 'hnr';
  }
  const year = birthYear(d[4] * 10 + d[5], d[6] * 100 + d[7] * 10 + d[8]);
  if (year === undefined) return { valid: false, reason: 'the individnummer does not fit the year of birth' };
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) {
    return {
      valid: false,
      reason: `the date of birth ${String(day).padStart(2, '0')}.${String(month).padStart(2, '0')}.${year} does not exist`,
    };
  }
  const birthDate = kind === 'hnr' ? undefined : date.toISOString().slice(0, 10);
  return { valid: true, kind, synthetic, format2032, ...(birthDate ? { birthDate } : {}) };
}

/** Organisasjonsnummer (Enhetsregisteret): nine digits, modulus 11 with weights 3 2 7 6 5 4 3 2. */
export function validOrganisationNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const d = [...value].map(Number);
  const k = (11 - (weighted(d, [3, 2, 7, 6, 5, 4, 3, 2]) % 11)) % 11;
  return k !== 10 && k === d[8];
}

const KIND_NAME: Record<NonNullable<PersonNumber['kind']>, string> = {
  fnr: 'fødselsnummer',
  dnr: 'D-nummer',
  hnr: 'H-nummer',
  fhn: 'FH-nummer',
};
const EXPECTED_KIND: Record<string, PersonNumber['kind']> = {
  [NO_SYSTEMS.FNR]: 'fnr',
  [NO_SYSTEMS.DNR]: 'dnr',
  [NO_SYSTEMS.HNR]: 'hnr',
  [NO_SYSTEMS.FHN]: 'fhn',
};

/** The issues of one Identifier (at `path`) under a Norwegian system; none for other systems. */
export function norwegianIdentifierIssues(id: Identifier, path: string): OperationOutcomeIssue[] {
  const system = id.system;
  const value = id.value;
  if (!system || value === undefined) return [];
  const at = `${path}.value`;
  const issue = (
    severity: OperationOutcomeIssue['severity'],
    diagnostics: string,
    expression = at,
  ): OperationOutcomeIssue => ({
    severity,
    code: severity === 'information' ? 'informational' : 'value',
    diagnostics,
    expression: [expression],
  });
  const expected = EXPECTED_KIND[system];
  if (expected) {
    const n = readPersonNumber(value);
    const out: OperationOutcomeIssue[] = [];
    if (!n.valid) return [issue('error', `'${value}' is not a valid ${KIND_NAME[expected]}: ${n.reason}`)];
    if (n.kind !== expected)
      out.push(
        issue(
          'error',
          `'${value}' is a ${KIND_NAME[n.kind as keyof typeof KIND_NAME]}, not a ${KIND_NAME[expected]}: use the system for ${KIND_NAME[n.kind as keyof typeof KIND_NAME]}`,
        ),
      );
    if (n.synthetic)
      out.push(issue('information', `'${value}' is a synthetic test number (+80 on the month): not a real person`));
    if (system === NO_SYSTEMS.HNR && !id.assigner)
      out.push({
        ...issue('error', 'A local H-nummer must name its assigner (no-basis)', `${path}.assigner`),
        code: 'required',
      });
    return out;
  }
  if (system === NO_SYSTEMS.ENH && !validOrganisationNumber(value))
    return [issue('error', `'${value}' is not a valid organisasjonsnummer: nine digits with a modulus-11 check digit`)];
  if (
    (system === NO_SYSTEMS.HPR || system === NO_SYSTEMS.RESH || system === NO_SYSTEMS.HER) &&
    !/^\d{1,10}$/.test(value)
  ) {
    return [
      issue(
        'error',
        `'${value}' is not a valid ${system === NO_SYSTEMS.HPR ? 'HPR-nummer' : system === NO_SYSTEMS.RESH ? 'RESH-id' : 'HER-id'}: digits only`,
      ),
    ];
  }
  return [];
}
