import { compile } from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { ElementDefinitionConstraint } from '@medplum/fhirtypes';
import { NATIVE_INVARIANTS } from './native-invariants.js';

type Compiled = (node: unknown, env?: Record<string, unknown>) => unknown[];

const BEST_PRACTICE = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';

/**
 * Invariants the walker checks itself, or that cannot be evaluated here:
 * - ele-1 (an element has a value or children) and ext-1 (an extension has a value or extensions,
 *   not both) run on every element and are cheaper as code (walker.ts);
 * - txt-1/txt-2 need the narrative's XHTML rules (`htmlChecks()`, which fhirpath.js lacks).
 */
const NATIVE_OR_UNSUPPORTED = new Set(['ele-1', 'ext-1', 'txt-1', 'txt-2', ...KNOWN_WRONG_IN_R4()]);

/**
 * R4 invariants with published errors, which would refuse valid data:
 * - que-7 `answer is Boolean` names the FHIRPath system type; FHIR's boolean is `boolean`
 *   (corrected in R5 to `answer is boolean`).
 */
function KNOWN_WRONG_IN_R4(): string[] {
  return ['que-7'];
}

/** Invariants compiled once per (context path, expression) with fhirpath.js and the R4 model. */
export class Invariants {
  private readonly compiled = new Map<string, Compiled | null>();

  /** Whether a constraint is checked at all: best-practice rules are advice, not validity. */
  applies(c: ElementDefinitionConstraint): boolean {
    if (!c.expression || !c.key || NATIVE_OR_UNSUPPORTED.has(c.key)) return false;
    return !(c.extension ?? []).some((e) => e.url === BEST_PRACTICE && e.valueBoolean === true);
  }

  /**
   * Evaluates one invariant on a node whose FHIR path (for typing) is `base`; `root` is the resource
   * (`%resource`). True unless the expression evaluates to false; an expression fhirpath.js cannot
   * compile or run is skipped rather than reported against the user's data.
   */
  holds(c: ElementDefinitionConstraint, base: string, node: unknown, root: unknown): boolean {
    const decided = NATIVE_INVARIANTS[c.expression as string]?.(node, root);
    if (decided !== undefined) return decided;
    const key = `${base}\u0000${c.expression}`;
    let fn = this.compiled.get(key);
    if (fn === undefined) {
      try {
        // some R4 invariants (dom-3) call trace(): keep it off the console
        fn = compile({ base, expression: c.expression as string }, r4Model, {
          traceFn: () => undefined,
        }) as unknown as Compiled;
      } catch {
        fn = null;
      }
      this.compiled.set(key, fn);
    }
    if (!fn) return true;
    try {
      const result = fn(node, { resource: root, rootResource: root });
      return !(result.length === 1 && result[0] === false);
    } catch {
      return true;
    }
  }
}
