import type { Bundle, BundleEntry, BundleLink, Organization, Patient } from '@medplum/fhirtypes';
import { addCalendarDays } from '../pathways/calendar.js';
import { NO_SYSTEMS } from '../validation/norwegian.js';
import type { ReportPeriod } from './period.js';
import { withoutMeta, type PatientPart } from './report.js';

const BASE = 'http://forlop.no/fhir';
export const NPR_REPORT = `${BASE}/StructureDefinition/npr-pathway-report`;
export const NPR_REPORT_ID = `${BASE}/NamingSystem/npr-report`;
/** Tags of a stored report: its period and its unit, so `Bundle?_tag=` finds them. */
export const NPR_PERIOD = `${BASE}/CodeSystem/npr-report-period`;
export const NPR_UNIT = `${BASE}/NamingSystem/npr-reporting-unit`;
const ORG_IDS: string[] = [NO_SYSTEMS.ENH, NO_SYSTEMS.RESH];
/**
 * Codes per stored page unless configured (REGISTRY_PAGE_SIZE): a page of 5,000 is ~6 MB, under the request body
 * limit.
 */
export const DEFAULT_PAGE_SIZE = 5000;

/** What every page of one report shares: its unit and period. */
export class ReportHead {
  readonly unitIdentifier: string;

  constructor(
    readonly baseUrl: string,
    readonly unitId: string,
    readonly unit: Organization,
    readonly period: ReportPeriod,
  ) {
    this.unitIdentifier = unit.identifier?.find((i) => ORG_IDS.includes(i.system ?? ''))?.value ?? unitId;
  }

  /** Page 1 is `npr-[unit]-[period]` (the whole report when it fits one page); page n `…-p[n]`. */
  pageId(n: number): string {
    const base = `npr-${this.unitId}-${this.period.label}`;
    const suffix = n === 1 ? '' : `-p${n}`;
    return `${base.slice(0, 64 - suffix.length)}${suffix}`;
  }

  problemsId(): string {
    return `${this.pageId(1)}-problems`.slice(0, 64);
  }

  /** The report's Bundle around its entries (a page, or the whole report in a file). */
  shell(id: string, identifierValue: string, timestamp: string | undefined): Bundle {
    return {
      resourceType: 'Bundle',
      id,
      meta: {
        profile: [NPR_REPORT],
        tag: [
          {
            system: NPR_PERIOD,
            code: this.period.label,
            display: `${this.period.start} – ${addCalendarDays(this.period.end, -1)}`,
          },
          { system: NPR_UNIT, code: this.unitIdentifier, display: this.unit.name },
        ],
      },
      identifier: { system: NPR_REPORT_ID, value: identifierValue },
      type: 'collection',
      ...(timestamp ? { timestamp } : {}),
    };
  }

  unitEntry(): BundleEntry {
    return { fullUrl: `${this.baseUrl}/Organization/${this.unitId}`, resource: withoutMeta(this.unit) };
  }

  /** Page n: the unit, its patients (by id), their codes; linked to the pages before and after it. */
  page(n: number, parts: PatientPart[], hasNext: boolean): Bundle {
    const sorted = [...parts].sort((a, b) => compare(a.patient?.id, b.patient?.id));
    const patients = sorted
      .filter((p) => p.patient)
      .map((p) => ({
        fullUrl: `${this.baseUrl}/Patient/${p.patient?.id}`,
        resource: withoutMeta(p.patient as Patient),
      }));
    const latest = parts.reduce((max, p) => (p.latest > max ? p.latest : max), '');
    const link: BundleLink[] = [
      ...(n > 1 ? [{ relation: 'previous', url: `${this.baseUrl}/Bundle/${this.pageId(n - 1)}` }] : []),
      ...(hasNext ? [{ relation: 'next', url: `${this.baseUrl}/Bundle/${this.pageId(n + 1)}` }] : []),
    ];
    return {
      ...this.shell(
        this.pageId(n),
        n === 1 ? `${this.unitIdentifier}/${this.period.label}` : `${this.unitIdentifier}/${this.period.label}/${n}`,
        latest || `${this.period.start}T00:00:00Z`,
      ),
      ...(link.length ? { link } : {}),
      entry: [this.unitEntry(), ...patients, ...sorted.flatMap((p) => p.procedures)],
    };
  }
}

const compare = (a = '', b = '') => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Collects patients' parts into pages of about `size` codes: a page is closed before the part that
 * would take it past `size` (a patient's codes are never split, so each page holds the patients its
 * codes refer to and is a complete report Bundle of its own).
 */
export class Pager {
  private parts: PatientPart[] = [];
  private codes = 0;
  private n = 0;

  constructor(
    private readonly head: ReportHead,
    private readonly size: number,
  ) {}

  /** The page this part closed, if it did. */
  add(part: PatientPart): Bundle | undefined {
    let closed: Bundle | undefined;
    if (this.codes > 0 && this.codes + part.procedures.length > this.size) {
      closed = this.head.page(++this.n, this.parts, true);
      this.parts = [];
      this.codes = 0;
    }
    this.parts.push(part);
    this.codes += part.procedures.length;
    return closed;
  }

  /** The last page (page 1 with the unit alone when the period has no code). */
  last(): Bundle {
    return this.head.page(++this.n, this.parts, false);
  }
}
