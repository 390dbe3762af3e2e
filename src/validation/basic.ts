import type { ElementDefinition, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Definitions } from '../fhir/definitions.js';
import { ID_PATTERN } from '../fhir/ids.js';
import type { ResourceValidator } from './types.js';

/**
 * A structural check of a resource's top level against its StructureDefinition: every element is
 * defined (choice types by their typed names), single elements are not arrays and vice versa, and the
 * id has the right form. Cheap enough for every write; the full validator builds on the same interface.
 */
export class BasicValidator implements ResourceValidator {
  private readonly elements = new Map<string, Map<string, { max: string; choice: boolean }>>();

  constructor(private readonly defs: Definitions) {}

  private elementsOf(type: string): Map<string, { max: string; choice: boolean }> | undefined {
    let map = this.elements.get(type);
    if (map) return map;
    const sd: StructureDefinition | undefined = this.defs.structures.get(type);
    if (!sd?.snapshot?.element) return undefined;
    map = new Map();
    for (const el of sd.snapshot.element as ElementDefinition[]) {
      const path = el.path ?? '';
      const rest = path.slice(type.length + 1);
      if (!rest || rest.includes('.')) continue;
      if (rest.endsWith('[x]')) {
        const stem = rest.slice(0, -3);
        for (const t of el.type ?? []) {
          const code = t.code ?? '';
          map.set(stem + code[0].toUpperCase() + code.slice(1), { max: el.max ?? '1', choice: true });
        }
      } else map.set(rest, { max: el.max ?? '1', choice: false });
    }
    this.elements.set(type, map);
    return map;
  }

  async validate(resource: Resource): Promise<OperationOutcomeIssue[]> {
    const type = resource.resourceType;
    const issues: OperationOutcomeIssue[] = [];
    const err = (expression: string, diagnostics: string, code: OperationOutcomeIssue['code'] = 'structure') =>
      issues.push({ severity: 'error', code, diagnostics, expression: [expression] });
    const elements = this.elementsOf(type);
    if (!elements) return [{ severity: 'error', code: 'not-supported', diagnostics: `Unknown resource type '${type}'`, expression: ['resourceType'] }];
    if (resource.id !== undefined && (typeof resource.id !== 'string' || !ID_PATTERN.test(resource.id))) {
      err(`${type}.id`, `Invalid id: must match [A-Za-z0-9-.]{1,64}`, 'value');
    }
    for (const [key, value] of Object.entries(resource)) {
      if (key === 'resourceType') continue;
      const name = key.startsWith('_') ? key.slice(1) : key; // _x carries a primitive's id/extensions
      const def = elements.get(name);
      if (!def) {
        err(`${type}.${key}`, `Unknown element '${key}' in ${type}`);
        continue;
      }
      if (key.startsWith('_')) continue;
      if (value === null) err(`${type}.${key}`, `Element '${key}' is null: leave it out instead`, 'value');
      else if (def.max === '1' && Array.isArray(value)) err(`${type}.${key}`, `Element '${key}' allows one value, not an array`);
      else if (def.max !== '1' && !Array.isArray(value)) err(`${type}.${key}`, `Element '${key}' must be an array`);
    }
    return issues;
  }
}
