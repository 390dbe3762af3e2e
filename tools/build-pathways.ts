/**
 * Generates the pathways shipped in `profiles/`: one PlanDefinition per pathway (Volven 9321 D01,
 * D06–D12), from the verified time limits in `../shared/domain/data/forlopstider-verified.json` and
 * the events each pathway uses (the `pathway-Dxx-events` ValueSets in `valuesets/`).
 * Run it when the source data changes: `npx tsx tools/build-pathways.ts [--source DIR]`.
 *
 * A time limit is data: the extension `pathway-time-limit` on the action it applies to, holding the
 * action it counts `from`, an optional FHIRPath `condition` (the care setting, the severity), the
 * FHIRPath `rule` that gives the due date, and whether the figure is verified or the national policy
 * used where the source gave none (domain notes §3, §7). Change a figure here (or in the stored
 * PlanDefinition) and the deadlines follow; no code holds one.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Extension, PlanDefinition, PlanDefinitionAction, ValueSet } from '@medplum/fhirtypes';

const BASE = 'http://forlop.no/fhir';
const EVENT_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9322';
const TYPE_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9321';
export const TIME_LIMIT = `${BASE}/StructureDefinition/pathway-time-limit`;
const NPR_RULE = `${BASE}/StructureDefinition/npr-rule`;
const POLICY_SOURCE = 'https://www.regjeringen.no/no/aktuelt/pakkeforlop-for-psykisk-helse-og-rus/id2623404/';

const source = resolve(
  process.argv.includes('--source')
    ? process.argv[process.argv.indexOf('--source') + 1]
    : join(import.meta.dirname, '../../shared/domain/data'),
);
const profiles = resolve(join(import.meta.dirname, '../profiles'));
const valuesets = resolve(join(import.meta.dirname, '../valuesets'));

interface Limit {
  pathway: string;
  from: string;
  to: string;
  setting: string;
  maxCalendarDays: number;
  source: string;
  sourceLastUpdated?: string;
  note?: string;
}
const limits = (
  JSON.parse(readFileSync(join(source, 'forlopstider-verified.json'), 'utf8')) as { forlopstider: Limit[] }
).forlopstider;

const PATHWAYS: Record<string, string> = {
  D01: 'Tverrfaglig spesialisert rusbehandling (TSB)',
  D06: 'Psykoseutvikling og psykoselidelser (barn, unge og voksne)',
  D07: 'Utredning og behandling av tvangslidelse (OCD) (barn, unge og voksne)',
  D08: 'Spiseforstyrrelser hos barn og unge',
  D09: 'Gravide som bruker/har brukt rusmidler – kvinne',
  D10: 'Gravide som bruker/har brukt rusmidler – nyfødt barn',
  D11: 'Utredning og behandling i psykisk helsevern, voksne',
  D12: 'Utredning og behandling i psykisk helsevern, barn og unge',
};

/** The coded milestones, in pathway order: action id, event code, title; outcomes where the event has them. */
const EVENTS: { id: string; code: string; title: string; outcomes?: boolean }[] = [
  { id: 'start', code: 'A', title: 'Forløp start (henvisning mottatt / vurdert)' },
  { id: 'psychosis-symptoms', code: 'P', title: 'Start på symptomer på psykose' },
  { id: 'first-attendance', code: 'M', title: 'Første fremmøte' },
  { id: 'detox-finished', code: 'D', title: 'Avrusning avsluttet' },
  { id: 'clinical-decision', code: 'C', title: 'Klinisk beslutning', outcomes: true },
  { id: 'first-evaluation', code: 'E', title: 'Første evaluering' },
  { id: 'next-evaluation', code: 'E', title: 'Neste evaluering' },
  { id: 'ocd-treatment-finished', code: 'T', title: 'OCD-behandling avsluttet' },
  { id: 'collaboration-meeting', code: 'S', title: 'Samarbeidsmøte med relevante instanser', outcomes: true },
  { id: 'feedback-to-referrer', code: 'F', title: 'Tilbakemelding til henviser og fastlege' },
  { id: 'activity', code: 'U', title: 'Utført aktivitet', outcomes: true },
  { id: 'patient-postponed', code: 'L', title: 'Pasientutsatt forløp' },
  { id: 'need-for-help', code: 'H', title: 'Hjelpebehov ved avslutning', outcomes: true },
  { id: 'end', code: 'X', title: 'Avslutning av forløp', outcomes: true },
];

/** What every pathway asks for beyond codes (seeds; domain notes §1). */
const CARE_ACTIONS: { id: string; title: string; description: string }[] = [
  {
    id: 'coordinator',
    title: 'Forløpskoordinator',
    description: "A coordinator in specialist care, and one in the municipality, in the CarePlan's care team.",
  },
  {
    id: 'own-description',
    title: 'Pasientens egen beskrivelse',
    description:
      "The patient's own description of their situation, and their part in the treatment plan (a QuestionnaireResponse).",
  },
  {
    id: 'children-next-of-kin',
    title: 'Barn og mindreårige søsken som pårørende',
    description: 'Ask whether the patient has children, or minor siblings, as next of kin.',
  },
  {
    id: 'violence-screening',
    title: 'Kartlegging av vold, overgrep og traumer',
    description: 'Screening for violence, abuse and trauma.',
  },
  {
    id: 'somatic-health',
    title: 'Somatisk helse og levevaner',
    description: 'Somatic health and lifestyle, built into every pathway (no 9321 code of its own).',
  },
];

/** Which action a source text names: its event letter, or the untyped treatment after detox. */
function actionOf(text: string, to: boolean): string {
  if (/annen behandling|behandling starter/.test(text)) return 'treatment-after-detox';
  if (/neste evaluering/.test(text)) return 'next-evaluation';
  if (/^evaluering/.test(text) && !to) return 'next-evaluation'; // «between evaluations» counts from the last one
  const letter = /\(([A-Z])\)|, ([A-Z])\)/.exec(text);
  const code = letter?.[1] ?? letter?.[2] ?? (/henvisning mottatt/.test(text) ? 'A' : undefined);
  const found = EVENTS.find((e) => e.code === code && !(code === 'E' && e.id === 'next-evaluation'));
  if (!found) throw new Error(`Cannot place '${text}' in the pathway`);
  return found.id;
}

/** The FHIRPath condition for a source's setting text: outpatient (AMB), inpatient (IMP), severity. */
function conditionOf(setting: string): string | undefined {
  if (/^alvorlig/.test(setting)) return "%severity = 'alvorlig'";
  if (/mindre alvorlig/.test(setting)) return "%severity = 'mindre-alvorlig'";
  if (/og døgn|^alle/.test(setting)) return undefined;
  if (/^poliklinikk/.test(setting)) return "%setting = 'AMB'";
  if (/^døgn/.test(setting)) return "%setting = 'IMP'";
  throw new Error(`Unknown setting '${setting}'`);
}

function timeLimit(
  from: string,
  days: number,
  status: 'verified' | 'national-policy',
  src: string,
  condition?: string,
  note?: string,
): Extension {
  return {
    url: TIME_LIMIT,
    extension: [
      { url: 'from', valueId: from },
      ...(condition
        ? [{ url: 'condition', valueExpression: { language: 'text/fhirpath' as const, expression: condition } }]
        : []),
      { url: 'rule', valueExpression: { language: 'text/fhirpath', expression: `%from.addCalendarDays(${days})` } },
      { url: 'status', valueCode: status },
      { url: 'source', valueUri: src },
      ...(note ? [{ url: 'note', valueString: note }] : []),
    ],
  };
}

function plan(code: string): PlanDefinition {
  const events = new Set(
    (
      (JSON.parse(readFileSync(join(valuesets, `ValueSet-pathway-${code}-events.json`), 'utf8')) as ValueSet).compose
        ?.include ?? []
    ).flatMap((i) => (i.concept ?? []).map((c) => c.code)),
  );
  events.add('A').add('X');
  // `L` (patient-postponed) is verified on the TSB page only, yet the kodeveileder applies it to every pathway [V §2.2]
  events.add('L');
  const mine = limits.filter((l) => l.pathway.split('/').includes(code));
  const ids = EVENTS.filter((e) => events.has(e.code)).map((e) => e.id);
  if (events.has('D')) ids.splice(ids.indexOf('detox-finished') + 1, 0, 'treatment-after-detox');
  const extensions = new Map<string, Extension[]>();
  for (const l of mine) {
    const to = actionOf(l.to, true);
    // a source may list several pages ("a ; b"): the first is the figure's page
    const ext = timeLimit(
      actionOf(l.from, false),
      l.maxCalendarDays,
      'verified',
      l.source.split(/\s*;\s*/)[0],
      conditionOf(l.setting),
      l.note,
    );
    extensions.set(to, [...(extensions.get(to) ?? []), ext]);
  }
  if (!mine.some((l) => actionOf(l.to, true) === 'clinical-decision')) {
    // no verified figure (D06, D11, D12): the national policy «utredning skal gjennomføres innen seks uker» [V seed
    // 001; figure per pathway U]
    extensions.set('clinical-decision', [
      timeLimit(
        'start',
        42,
        'national-policy',
        POLICY_SOURCE,
        undefined,
        'No verified pathway time for this pathway: the national policy «utredning innen seks uker» is used (domain notes §3, §7). Correct it here when the figure is found.',
      ),
    ]);
  }
  let previous: string | undefined;
  const actions: PlanDefinitionAction[] = ids.map((id) => {
    const ev = EVENTS.find((e) => e.id === id);
    const action: PlanDefinitionAction = {
      id,
      title: ev?.title ?? 'Annen behandling starter etter avrusning',
      ...(ev ? { code: [{ coding: [{ system: EVENT_SYSTEM, code: ev.code }] }] } : {}),
      ...(extensions.has(id) ? { extension: extensions.get(id) } : {}),
      ...(ev?.outcomes
        ? {
            output: [
              {
                type: 'Task',
                codeFilter: [
                  { path: 'output.value', valueSet: `${BASE}/ValueSet/pathway-${code}-${ev.code}-outcomes` },
                ],
              },
            ],
          }
        : {}),
      // order: the main line (start, attendance, decision, evaluations) follows itself; other events may come any
      // time after the start — but for the onset of psychosis symptoms, which is dated when they began, often
      // before the referral (an action with no `after` relation may be dated before the pathway's start)
      ...(previous && !DATED_BEFORE_START.has(id)
        ? { relatedAction: [{ actionId: MAIN.has(id) ? previous : 'start', relationship: 'after' as const }] }
        : {}),
    };
    if (MAIN.has(id)) previous = id;
    else previous ??= id;
    return action;
  });
  for (const c of CARE_ACTIONS)
    actions.push({
      id: c.id,
      title: c.title,
      description: c.description,
      relatedAction: [{ actionId: 'start', relationship: 'after' }],
    });
  return {
    resourceType: 'PlanDefinition',
    id: `pathway-${code}`,
    extension: nprRules(code),
    url: `${BASE}/PlanDefinition/pathway-${code}`,
    version: '2019.1',
    name: `Pathway${code}`,
    title: `Nasjonalt pasientforløp: ${PATHWAYS[code]}`,
    type: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/plan-definition-type', code: 'clinical-protocol' }],
    },
    status: 'active',
    date: '2024-12-06',
    publisher: "Forløp (from Helsedirektoratet's pathway descriptions)",
    description: `The ${code} pathway with its milestones (Volven 9322 events), their order and their time limits as FHIRPath rules. Time limits are calendar days and guidance, not patient rights; figures marked national-policy were not found for this pathway and follow the national policy.`,
    topic: [{ coding: [{ system: TYPE_SYSTEM, code }] }],
    action: actions,
  };
}
/**
 * NPR's registration rules (Volven 9329 feedback codes, domain notes §2.5) as FHIRPath that must hold:
 * the order of events when a milestone is completed, age and parallel pathways when one is applied.
 */
const NPR_RULES: {
  code: string;
  display: string;
  when: 'apply' | 'complete';
  expression: string;
  pathways?: (code: string) => boolean;
}[] = [
  {
    code: '208',
    display: 'Kode C (klinisk beslutning) mangler forutgående kode M (første frammøte)',
    when: 'complete',
    expression: "%task.code.coding.code = 'C' implies %done.where(code.coding.code = 'M').exists()",
  },
  {
    code: '211',
    display: 'Kode M (første frammøte) har forutgående prosedyrekode C (klinisk beslutning)',
    when: 'complete',
    expression: "%task.code.coding.code = 'M' implies %done.where(code.coding.code = 'C').empty()",
  },
  {
    code: '221',
    display: 'Kode E (evalueringspunkt) mangler forutgående hendelse C (klinisk beslutning)',
    when: 'complete',
    expression: "%task.code.coding.code = 'E' implies %done.where(code.coding.code = 'C').exists()",
  },
  {
    code: '222',
    display: 'Kode F (tilbakemelding til henviser sendt) mangler forutgående hendelse C (klinisk beslutning)',
    when: 'complete',
    expression: "%task.code.coding.code = 'F' implies %done.where(code.coding.code = 'C').exists()",
  },
  {
    code: '223',
    display: 'Hendelse P (start symptomer psykose) kommer etter hendelse C (klinisk beslutning)',
    when: 'complete',
    expression: "%task.code.coding.code = 'P' implies %done.where(code.coding.code = 'C').empty()",
    pathways: (c) => c === 'D06',
  },
  {
    code: '225',
    display: 'Forutgående hendelse X (avslutning av pakkeforløp) har avsluttet dette pakkeforløpet',
    when: 'complete',
    expression: "%done.where(code.coding.code = 'X').empty()",
  },
  {
    code: '216',
    display: 'Pasienten var over 18 år ved registrering i pakkeforløp D12',
    when: 'apply',
    expression: '%age < 18',
    pathways: (c) => c === 'D12',
  },
  // a patient may be in the psychosis pathway beside another one («eks. ved psykose», domain notes §1)
  {
    code: '224',
    display: 'Pasienten er også registrert i et annet pakkeforløp',
    when: 'apply',
    expression: "%open.where(category.coding.code != 'D06').empty()",
    pathways: (c) => c !== 'D06',
  },
];

function nprRules(code: string): Extension[] {
  return NPR_RULES.filter((r) => !r.pathways || r.pathways(code)).map((r) => ({
    url: NPR_RULE,
    extension: [
      { url: 'code', valueCoding: { system: 'urn:oid:2.16.578.1.12.4.1.1.9329', code: r.code, display: r.display } },
      { url: 'when', valueCode: r.when },
      { url: 'expression', valueExpression: { language: 'text/fhirpath', expression: r.expression } },
    ],
  }));
}

/** Events dated when something began before the pathway did (9322 P: start of psychosis symptoms). */
const DATED_BEFORE_START = new Set(['psychosis-symptoms']);
const MAIN = new Set(['start', 'first-attendance', 'clinical-decision', 'first-evaluation', 'next-evaluation']);

for (const f of readdirSync(profiles).filter((f) => f.startsWith('PlanDefinition-pathway-'))) rmSync(join(profiles, f));
for (const code of Object.keys(PATHWAYS)) {
  const p = plan(code);
  writeFileSync(join(profiles, `PlanDefinition-${p.id}.json`), `${JSON.stringify(p, null, 2)}\n`);
}
process.stdout.write(`Wrote ${Object.keys(PATHWAYS).length} PlanDefinitions to ${profiles}\n`);
