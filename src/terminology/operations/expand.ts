import type { ValueSetExpansionParameter } from '@medplum/fhirtypes';
import { expandValueSet, type Expanded } from '../expand.js';
import { splitCanonical } from '../versions.js';
import { expansionResource } from '../expansion-view.js';
import { txOperation } from './input.js';
import { formatLanguages, othersRefused } from '../language.js';
import { applyRequestedSupplements } from './supplements.js';
import { targetValueSet } from './targets.js';

/** Parameters that shape an expansion and are echoed in expansion.parameter (R4 §4.9.9.1). */
const ECHOED: [string, 'valueBoolean' | 'valueString' | 'valueInteger' | 'valueCode' | 'valueUri'][] = [
  ['filter', 'valueString'],
  ['count', 'valueInteger'],
  ['offset', 'valueInteger'],
  ['includeDesignations', 'valueBoolean'],
  ['includeDefinition', 'valueBoolean'],
  ['activeOnly', 'valueBoolean'],
  ['excludeNested', 'valueBoolean'],
  ['displayLanguage', 'valueCode'],
  ['system-version', 'valueUri'],
  ['force-system-version', 'valueUri'],
  ['check-system-version', 'valueUri'],
  ['default-valueset-version', 'valueUri'],
  ['designation', 'valueString'],
];

/**
 * `system-version` and `check-system-version` only matter to a versionless include of their system, so
 * they are reported (as parameters that shaped the expansion) only when the expansion had one.
 */
function tookEffect(name: string, value: string, expanded: Expanded): boolean {
  if (name !== 'system-version' && name !== 'check-system-version') return true;
  return expanded.systems.get(splitCanonical(value)[0])?.pinned === false;
}

/** `ValueSet/$expand` at type and instance level. */
export const expandOperation = txOperation('ValueSet', 'expand', async (svc, input, ctx, target) => {
  const vs = await targetValueSet(svc, ctx, input, target.id, true);
  const count = input.integer('count');
  const offset = input.integer('offset');
  input.useValueSetDefaults(vs);
  await applyRequestedSupplements(ctx, input, vs);
  const expanded = await expandValueSet(ctx, vs!, input.settings(svc));
  const echo: ValueSetExpansionParameter[] = [];
  for (const [name, kind] of ECHOED) {
    for (const v of input.strings(name)) {
      if (!tookEffect(name, v, expanded)) continue;
      const value =
        kind === 'valueBoolean'
          ? v === 'true'
          : kind === 'valueInteger'
            ? Number(v)
            : name === 'displayLanguage'
              ? formatLanguages(v)
              : v;
      echo.push({ name, [kind]: value } as ValueSetExpansionParameter);
    }
  }
  for (const used of ctx.usedSupplements) echo.push({ name: 'used-supplement', valueUri: used });
  // reported when it decided something: an exclude took out another version's codes
  if (expanded.versionsMatched) echo.push({ name: 'versionsMatch', valueBoolean: true });
  // the language asked for in Accept-Language, or set on the value set, is reported like the parameter
  if (!input.has('displayLanguage')) {
    const shown = input.languages()[0] ?? vs!.language;
    if (shown) echo.push({ name: 'displayLanguage', valueCode: shown });
  }
  const resource = expansionResource(vs!, expanded, {
    filter: input.string('filter'),
    count,
    offset,
    includeDesignations: input.boolean('includeDesignations', false),
    includeDefinition: input.boolean('includeDefinition', false),
    properties: input.strings('property'),
    designations: input.strings('designation'),
    excludeNested: input.boolean('excludeNested'),
    languages: input.languages(),
    othersRefused: othersRefused(input.languageList()),
    echo,
    now: svc.clock.now(),
    maxSize: svc.terminologyLimits.maxExpansionSize,
  });
  return { status: 200, resource };
});
