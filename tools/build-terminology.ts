/**
 * Generates the terminology shipped in `valuesets/` from the domain facts in
 * `../shared/domain/data` (Volven code lists 93xx, the decomposed 9327 list, kommunenummer 3402).
 * Run it when the source data changes: `npx tsx tools/build-terminology.ts [--source DIR]`.
 * The server never reads `../shared`; it loads the generated files (src/terminology/loader.ts).
 *
 * Every fact keeps its marker from the domain notes: titles of 9323–9329 and the event → outcome
 * list pairing are inferences ([I]); the post-2023 «nasjonale pasientforløp» texts are derived by
 * the published renaming rule ([I]); the 2023 ConceptMap maps only what is verified.
 *
 * 9327 also gets the patient-postponed codes DxxL, which the NHN list lacks, from
 * `tools/data/volven-9327-postponed.csv` (the same columns, plus each code's verification status
 * and source): D01L is verified on the Helsedirektoratet TSB page, the others are inferred from
 * the pathways' own L event. They carry the concept properties `verification` and `source`.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import type {
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptDesignation,
  ConceptMap,
  ValueSet,
} from '@medplum/fhirtypes';
import { ENGLISH, TYPE_LABEL_EN } from './terminology-english.js';

const BASE = 'http://forlop.no/fhir';
const OID = 'urn:oid:2.16.578.1.12.4.1.1.';
const DATE = '2024-12-06'; // the NHN source file's last refresh
const PUBLISHER = 'Forløp (code lists from Volven / Norsk helsenett)';
const USE = `${BASE}/CodeSystem/designation-use`;
const csUrl = (n: string) => `${BASE}/CodeSystem/volven-${n}`;
const vsUrl = (name: string) => `${BASE}/ValueSet/${name}`;

const source = resolve(
  process.argv.includes('--source')
    ? process.argv[process.argv.indexOf('--source') + 1]
    : join(import.meta.dirname, '../../shared/domain/data'),
);
const out = resolve(join(import.meta.dirname, '../valuesets'));
const volven = JSON.parse(readFileSync(join(source, 'volven-93xx-pakkeforlop-phr.json'), 'utf8')) as {
  titles: Record<string, string>;
  codesystems: Record<string, { code: string; display: string }[]>;
};
const csv = (file: string) => parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
const byCode = (a: Record<string, string>, b: Record<string, string>) =>
  a.combined_code_9327 < b.combined_code_9327 ? -1 : a.combined_code_9327 > b.combined_code_9327 ? 1 : 0;
// the NHN list and our supplement (codes the list lacks, each with its verification status), in code order
const rows = [
  ...csv(join(source, 'pakkeforlop-phr-9327-decomposed.csv')),
  ...csv(join(import.meta.dirname, 'data/volven-9327-postponed.csv')),
].sort(byCode);
/** A 9327 row whose code is verified: the NHN list, or a supplement row marked verified. */
const verifiedRow = (r: Record<string, string>) => (r.verification ?? 'verified') === 'verified';
const kommuner = JSON.parse(readFileSync(join(source, 'volven-3402-kommunenummer-2024.json'), 'utf8')) as {
  source: string;
  codes: { code: string; display: string }[];
};

/** The 2023 renaming (pakkeforløp → nasjonale pasientforløp), applied to a legacy text. [I] */
function currentText(legacy: string): string {
  return legacy
    .replace(/^Pakkeforløp start$/, 'Nasjonalt pasientforløp start')
    .replace(/Pakkeforløp/g, 'Nasjonalt pasientforløp')
    .replace(/pakkeforløpet/g, 'pasientforløpet')
    .replace(/pakkeforløp/g, 'pasientforløp');
}

function designations(list: string, code: string, nb: string, english?: string): CodeSystemConceptDesignation[] {
  const out: CodeSystemConceptDesignation[] = [];
  const en = english ?? ENGLISH[list]?.[code];
  if (en)
    out.push({
      language: 'en',
      use: { system: 'http://terminology.hl7.org/CodeSystem/designation-usage', code: 'display' },
      value: en,
    });
  if (/pakkeforløp/i.test(nb)) {
    out.push({ language: 'nb', use: { system: USE, code: 'legacy-name' }, value: nb });
    out.push({ language: 'nb', use: { system: USE, code: 'current-name' }, value: currentText(nb) });
  }
  return out;
}

function codeSystem(
  n: string,
  title: string,
  description: string,
  concepts: CodeSystemConcept[],
  extra: Partial<CodeSystem> = {},
): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: `volven-${n}`,
    url: csUrl(n),
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `${OID}${n}` }],
    version: DATE,
    name: `Volven${n}`,
    title,
    status: 'active',
    experimental: false,
    date: DATE,
    publisher: PUBLISHER,
    description,
    caseSensitive: true,
    language: 'nb',
    content: 'complete',
    count: concepts.length,
    ...extra,
    concept: concepts,
  };
}

const PROVENANCE =
  'Codes and Norwegian display texts verbatim from Volven (NHN kith-visningsfiler kodeverk.xsl, refreshed 2024-12-06). English designations are our translations. Texts with «pakkeforløp» carry a legacy-name designation and a current-name designation with the 2023 renaming to «nasjonale pasientforløp» applied (derived, [I]).';

// --- code systems -------------------------------------------------------------------------------
const systems: CodeSystem[] = [];
const plain = (n: string, extraConcepts: CodeSystemConcept[] = []): CodeSystemConcept[] => [
  ...volven.codesystems[n].map((c) => ({
    code: c.code,
    display: c.display,
    designation: designations(n, c.code, c.display),
  })),
  ...extraConcepts,
];
const inferred = ' Title inferred from usage ([I]).';
systems.push(
  codeSystem(
    '9321',
    'Type forløp (pakkeforløp / nasjonale pasientforløp psykisk helse og rus)',
    `The pathway type. Label «Forløp» verified on the Helsedirektoratet kodeveileder. ${PROVENANCE}`,
    plain('9321'),
  ),
);
systems.push(
  codeSystem(
    '9322',
    'Hendelse',
    `Pathway events. Label «Hendelse» verified on the Helsedirektoratet kodeveileder. ${PROVENANCE} Code L is verified on the Helsedirektoratet TSB page but absent from the NHN list.`,
    plain('9322', [
      {
        code: 'L',
        display: 'Pasientutsatt pakkeforløp',
        definition:
          'Source: Helsedirektoratet, TSB «Pasientutsatt pakkeforløp» (postponement by more than 7 working days, registered before C or an evaluation). Not in the NHN code list.',
        designation: designations('9322', 'L', 'Pasientutsatt pakkeforløp'),
      },
    ]),
  ),
);
for (const [n, role] of [
  ['9323', 'outcome of the clinical decision (C)'],
  ['9324', 'outcome of the collaboration meeting (S)'],
  ['9325', 'activity performed (U)'],
  ['9326', 'reason for ending the pathway (X)'],
  ['9328', 'need for help at the end of the pathway (H)'],
]) {
  systems.push(
    codeSystem(
      n,
      volven.titles[n],
      `The ${role}; the pairing with its event is inferred ([I]).${inferred} ${PROVENANCE}`,
      plain(n),
    ),
  );
}
systems.push(
  codeSystem(
    '9329',
    volven.titles['9329'],
    `NPR feedback and validation codes (1xx cancer, 2xx mental health and substance use).${inferred} ${PROVENANCE}`,
    plain('9329'),
  ),
);

// 9327: the combined codes, each with its parts as properties, so value sets can filter on them
const POSTPONED = [
  'Not in the NHN list, and added here: the patient-postponed codes <type>L (event L «Pasientutsatt pakkeforløp»),',
  'so that a recorded postponement is reported rather than refused by NPR as an unknown code (201).',
  'D01L is verified on the Helsedirektoratet TSB page; D06L–D12L are inferred ([I]) from the L event each pathway has.',
  'These concepts carry the properties verification (verified | inferred) and source; their displays follow the',
  'pattern of the list (type label + event) and are ours ([I]).',
  'Concepts without a verification property are verbatim from the NHN list.',
].join(' ');
const eventName = (e: string) => ENGLISH['9322'][e];
systems.push(
  codeSystem(
    '9327',
    'Kombinerte prosedyrekoder for pakkeforløp psykisk helse og rus',
    `Combined procedure codes <type><event>[<outcome>] for systems without a pathway module (reported to NPR as procedure codes, 8410 «T»). Each concept has the properties type (9321), event (9322) and, where it has one, outcome (a Coding in 9323–9328).${inferred} ${PROVENANCE} ${POSTPONED}`,
    rows.map((r) => {
      const outcome = r.utfall_code ? ENGLISH[r.utfall_codesystem]?.[r.utfall_code] : undefined;
      const en = `${TYPE_LABEL_EN[r.type_forlop_9321]}: ${eventName(r.hendelse_9322).toLowerCase()}${outcome ? ` – ${outcome.charAt(0).toLowerCase()}${outcome.slice(1)}` : ''}`;
      return {
        code: r.combined_code_9327,
        display: r.display_9327,
        designation: designations('9327', r.combined_code_9327, r.display_9327, en),
        property: [
          { code: 'type', valueCode: r.type_forlop_9321 },
          { code: 'event', valueCode: r.hendelse_9322 },
          ...(r.utfall_code
            ? [{ code: 'outcome', valueCoding: { system: csUrl(r.utfall_codesystem), code: r.utfall_code } }]
            : []),
          // a code of our supplement: whether it is verified, and where from
          ...(r.verification
            ? [
                { code: 'verification', valueCode: r.verification },
                { code: 'source', valueString: r.source },
              ]
            : []),
        ],
      };
    }),
    {
      property: [
        { code: 'type', uri: `${csUrl('9327')}#type`, description: 'The pathway type (Volven 9321)', type: 'code' },
        { code: 'event', uri: `${csUrl('9327')}#event`, description: 'The event (Volven 9322)', type: 'code' },
        {
          code: 'outcome',
          uri: `${csUrl('9327')}#outcome`,
          description: 'The outcome, in the list that belongs to the event',
          type: 'Coding',
        },
        {
          code: 'verification',
          uri: `${csUrl('9327')}#verification`,
          description: 'For a code not in the NHN list: verified (read in the cited source) or inferred ([I])',
          type: 'code',
        },
        {
          code: 'source',
          uri: `${csUrl('9327')}#source`,
          description: 'For a code not in the NHN list: where it is read, or what it is inferred from',
          type: 'string',
        },
      ],
    },
  ),
);
systems.push(
  codeSystem(
    '3402',
    'Kommunenummer',
    `Norwegian municipality numbers, 2024 structure (390 codes). Source: ${kommuner.source}. A snapshot: refresh from SSB Klass / Kartverket for production. Municipality names are proper names: they have no English designations.`,
    kommuner.codes.map((c) => ({ code: c.code, display: c.display })),
    {
      publisher: 'Forløp (code list from Volven / Norsk helsenett)',
    },
  ),
);
systems.push(
  codeSystem(
    '8327',
    'Identifikatortype',
    `Types of Norwegian person identifiers (no-basis, HL7 Norway). Codes verified in no-basis; title inferred ([I]).`,
    ['DNR', 'FHN', 'FNR', 'HNR'].map((code) => ({
      code,
      display: { DNR: 'D-nummer', FHN: 'Felles hjelpenummer', FNR: 'Fødselsnummer', HNR: 'H-nummer' }[code] as string,
      designation: designations('8327', code, ''),
    })),
  ),
);
systems.push({
  resourceType: 'CodeSystem',
  id: 'designation-use',
  url: USE,
  version: '1.0.0',
  name: 'ForlopDesignationUse',
  title: 'Forløp designation uses',
  status: 'active',
  experimental: false,
  date: DATE,
  publisher: 'Forløp',
  description: 'Which era of pathway naming a Norwegian designation belongs to.',
  caseSensitive: true,
  content: 'complete',
  concept: [
    { code: 'legacy-name', display: 'Text from the «pakkeforløp» era (2019–2022)' },
    { code: 'current-name', display: 'Text after the 2023 renaming to «nasjonale pasientforløp»' },
  ],
});

// Volven 8410 (kodeverk of a Kode in NPR messages): only the values the domain notes list ([V] XSLT k-8410)
systems.push({
  resourceType: 'CodeSystem',
  id: 'volven-8410',
  url: csUrl('8410'),
  identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:oid:2.16.578.1.12.4.1.1.8410' }],
  version: DATE,
  name: 'Volven8410',
  title: 'Kodeverk i NPR-meldinger (Volven 8410)',
  status: 'active',
  experimental: false,
  date: DATE,
  publisher: 'Forløp (from Volven, Direktoratet for e-helse)',
  description:
    'Which code system a Kode in an NPR message belongs to. A fragment: the values listed in the domain notes; `T` marks the pathway procedure codes (Volven 9327) of the registry reports.',
  caseSensitive: true,
  content: 'fragment',
  concept: [
    ['T', 'Pakkeforløp psykisk helse og rus prosedyrekoder'],
    ['P', 'Pakkeforløp kreft prosedyrekoder'],
    ['D', 'ICD-10'],
    ['K', 'NCSP-N'],
    ['M', 'NCMP'],
    ['Q', 'NCSP/NCMP/NCRP'],
    ['R', 'NCRP'],
    ['H', 'ICPC'],
    ['F', 'ATC'],
    ['A', 'Utredning kartlegging rusmisbruk'],
    ['B', 'BUP akse 5/6'],
    ['N', 'Intervensjon rus'],
    ['S', 'Særkoder'],
    ['X', 'NORAKO'],
  ].map(([code, display]) => ({ code, display })),
});

systems.push({
  resourceType: 'CodeSystem',
  id: 'deadline-status',
  url: `${BASE}/CodeSystem/deadline-status`,
  version: '1.0.0',
  name: 'ForlopDeadlineStatus',
  title: 'Forløp deadline status',
  status: 'active',
  experimental: false,
  date: DATE,
  publisher: 'Forløp',
  description:
    'Where a pathway milestone (Task.businessStatus) stands against its time limit, as the deadline evaluation sets it each day in Oslo.',
  caseSensitive: true,
  valueSet: `${BASE}/ValueSet/deadline-status`,
  content: 'complete',
  concept: [
    { code: 'met', display: 'Innenfor forløpstid', definition: 'Done on or before the due date.' },
    { code: 'missed', display: 'Forløpstid overskredet', definition: 'Done after the due date.' },
    { code: 'overdue', display: 'Forfalt', definition: 'Not done, and the due date has passed.' },
    {
      code: 'due-soon',
      display: 'Forfaller snart',
      definition: 'Not done, due within the next days (seven unless asked otherwise).',
    },
    { code: 'on-time', display: 'I rute', definition: 'Not done, and the due date is further away.' },
    {
      code: 'no-limit',
      display: 'Uten forløpstid',
      definition: 'The milestone has no time limit (never stored; $deadlines reports it).',
    },
  ],
});

systems.push({
  resourceType: 'CodeSystem',
  id: 'care-team-role',
  url: `${BASE}/CodeSystem/care-team-role`,
  version: '1.0.0',
  name: 'ForlopCareTeamRole',
  title: 'Forløp care team roles',
  status: 'active',
  experimental: false,
  date: DATE,
  publisher: 'Forløp',
  description:
    'Who takes part in a patient pathway: the patient and the pathway coordinators («forløpskoordinator») in specialist care and in the municipality.',
  caseSensitive: true,
  content: 'complete',
  concept: [
    {
      code: 'patient',
      display: 'Pasient',
      definition: 'The patient, who takes part in planning and evaluating their own treatment.',
    },
    {
      code: 'coordinator-specialist',
      display: 'Forløpskoordinator i spesialisthelsetjenesten',
      definition: 'The pathway coordinator in the specialist health service.',
    },
    {
      code: 'coordinator-municipality',
      display: 'Forløpskoordinator i kommunen',
      definition: 'The pathway coordinator in the municipal health and care service.',
    },
  ],
});

// --- value sets ---------------------------------------------------------------------------------
const valueSet = (id: string, title: string, description: string, compose: ValueSet['compose']): ValueSet => ({
  resourceType: 'ValueSet',
  id,
  url: vsUrl(id),
  version: DATE,
  name: id.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase()),
  title,
  status: 'active',
  experimental: false,
  date: DATE,
  publisher: 'Forløp',
  description,
  compose,
});
const valueSets: ValueSet[] = [];
const EVENT_OUTCOMES: Record<string, string> = { C: '9323', S: '9324', U: '9325', X: '9326', H: '9328' };
valueSets.push(
  valueSet('pathway-types', 'Pathway types', 'Every pathway type (Volven 9321).', {
    include: [{ system: csUrl('9321') }],
  }),
);
valueSets.push(
  valueSet('pathway-codes', 'Combined pathway codes', 'Every combined pathway code (Volven 9327).', {
    include: [{ system: csUrl('9327') }],
  }),
);
for (const [event, list] of Object.entries(EVENT_OUTCOMES)) {
  valueSets.push(
    valueSet(
      `event-${event}-outcomes`,
      `Outcomes of event ${event} (${volven.codesystems['9322'].find((c) => c.code === event)?.display})`,
      `The outcome codes for event ${event}: Volven ${list} (pairing inferred, [I]).`,
      { include: [{ system: csUrl(list) }] },
    ),
  );
}
for (const type of volven.codesystems['9321'].map((c) => c.code)) {
  const mine = rows.filter((r) => r.type_forlop_9321 === type);
  const name = volven.codesystems['9321'].find((c) => c.code === type)?.display;
  valueSets.push(
    valueSet(
      `pathway-${type}-codes`,
      `${type} ${name}: combined codes`,
      `The combined codes (9327) pathway ${type} may use.`,
      {
        include: [{ system: csUrl('9327'), filter: [{ property: 'type', op: '=', value: type }] }],
      },
    ),
  );
  // only events with a verified code: the inferred DxxL codes do not widen the pathways' event lists
  const events = [...new Set(mine.filter(verifiedRow).map((r) => r.hendelse_9322))];
  valueSets.push(
    valueSet(`pathway-${type}-events`, `${type} ${name}: events`, `The events (9322) pathway ${type} may register.`, {
      include: [{ system: csUrl('9322'), concept: events.sort().map((code) => ({ code })) }],
    }),
  );
  for (const [event, list] of Object.entries(EVENT_OUTCOMES)) {
    const codes = [
      ...new Set(mine.filter((r) => r.hendelse_9322 === event && r.utfall_code).map((r) => r.utfall_code)),
    ].sort();
    if (!codes.length) continue;
    valueSets.push(
      valueSet(
        `pathway-${type}-${event}-outcomes`,
        `${type} ${name}: outcomes of event ${event}`,
        `The outcomes (${list}) pathway ${type} may register with event ${event}.`,
        {
          include: [{ system: csUrl(list), concept: codes.map((code) => ({ code })) }],
        },
      ),
    );
  }
}
valueSets.push(
  valueSet('kommunenummer', 'Kommunenummer', 'Norwegian municipality numbers (Volven 3402, 2024 structure).', {
    include: [{ system: csUrl('3402') }],
  }),
);
valueSets.push(
  valueSet('deadline-status', 'Deadline status', 'Every standing of a pathway milestone against its time limit.', {
    include: [{ system: `${BASE}/CodeSystem/deadline-status` }],
  }),
);

// --- concept maps -------------------------------------------------------------------------------
const decomposition: ConceptMap = {
  resourceType: 'ConceptMap',
  id: 'pathway-code-decomposition',
  url: `${BASE}/ConceptMap/pathway-code-decomposition`,
  version: DATE,
  name: 'PathwayCodeDecomposition',
  title: 'Combined pathway code (9327) → type + event + outcome',
  status: 'active',
  experimental: false,
  date: DATE,
  publisher: 'Forløp',
  description:
    'Splits each combined code into its pathway type (the target), and its event and outcome (products). From the decomposed 9327 list.',
  sourceUri: vsUrl('pathway-codes'),
  targetUri: vsUrl('pathway-types'),
  group: [
    {
      source: csUrl('9327'),
      target: csUrl('9321'),
      element: rows.map((r) => ({
        code: r.combined_code_9327,
        display: r.display_9327,
        target: [
          {
            code: r.type_forlop_9321,
            display: r.type_display,
            equivalence: 'wider',
            product: [
              {
                property: `${csUrl('9327')}#event`,
                system: csUrl('9322'),
                value: r.hendelse_9322,
                display: r.hendelse_display,
              },
              ...(r.utfall_code
                ? [
                    {
                      property: `${csUrl('9327')}#outcome`,
                      system: csUrl(r.utfall_codesystem),
                      value: r.utfall_code,
                      display: r.utfall_display,
                    },
                  ]
                : []),
            ],
          },
        ],
      })),
    },
  ],
};

const U = 'Not verified ([U]): whether the revised kodeveileder keeps, changes or removes this code is not known.';
const revision: ConceptMap = {
  resourceType: 'ConceptMap',
  id: 'revision-2023-general-pathways',
  url: `${BASE}/ConceptMap/revision-2023-general-pathways`,
  version: DATE,
  name: 'Revision2023GeneralPathways',
  title: 'Pakkeforløp (2019–2022) → nasjonale pasientforløp, revised general pathways D01/D11/D12',
  status: 'draft',
  experimental: false,
  date: DATE,
  publisher: 'Forløp',
  description:
    'Maps only what is verified: the pathway types are kept. The start event changes meaning (received → assessed), and the codes for a pathway that never starts have no target; everything else is unverified and listed as unmatched with a comment, so it can be corrected here when the revised kodeveileder is read.',
  group: [
    {
      source: csUrl('9321'),
      target: csUrl('9321'),
      element: ['D01', 'D11', 'D12'].map((code) => ({
        code,
        target: [
          { code, equivalence: 'equivalent', comment: 'The type codes are kept in the new kodeveileder ([V]).' },
        ],
      })),
    },
    {
      source: csUrl('9322'),
      target: csUrl('9322'),
      element: [
        {
          code: 'A',
          target: [
            {
              code: 'A',
              equivalence: 'inexact',
              comment:
                'Start now dates from the assessed referral with rights granted, not from the received referral ([V] rule, mapping [I]).',
            },
          ],
        },
        ...['C', 'D', 'E', 'F', 'H', 'L', 'M', 'P', 'S', 'T', 'U', 'X'].map((code) => ({
          code,
          target: [{ equivalence: 'unmatched' as const, comment: U }],
        })),
      ],
    },
    {
      source: csUrl('9326'),
      target: csUrl('9326'),
      element: [
        {
          code: 'R',
          target: [
            {
              equivalence: 'unmatched' as const,
              comment: 'Rights not granted: a pathway now starts only once rights are granted, so no target ([I]).',
            },
          ],
        },
        {
          code: 'L',
          target: [
            {
              equivalence: 'unmatched' as const,
              comment: 'Not to be in a pathway: no target once the start requires an assessed referral ([I]).',
            },
          ],
        },
      ],
    },
  ],
};

// --- write --------------------------------------------------------------------------------------
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const r of [...systems, ...valueSets, decomposition, revision])
  writeFileSync(join(out, `${r.resourceType}-${r.id}.json`), `${JSON.stringify(r, null, 2)}\n`);
console.log(`wrote ${readdirSync(out).length} resources to ${out}`);
