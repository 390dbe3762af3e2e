import type { Need } from '../ports.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import type { Services } from '../services.js';

/** One `$operation`: a small module; the table of them drives routing and the CapabilityStatement. */
export interface Operation {
  /** The name without `$`. */
  name: string;
  /** The canonical URL of its OperationDefinition. */
  definition: string;
  levels: ('system' | 'type' | 'instance')[];
  /** Types it applies to at type/instance level (all when absent). */
  resourceTypes?: string[];
  /** DELETE only at system level (a Bulk Data job's status URL cancels it). */
  methods: ('GET' | 'POST' | 'DELETE')[];
  /**
   * What a caller's token must grant (SMART scopes). When absent: reading the target type (at system
   * level, every type, for all patients) — operations that write or reach further say so.
   */
  access?: (target: { type?: string; id?: string }) => Need[];
  handler(svc: Services, req: FhirRequest, target: { type?: string; id?: string }): Promise<FhirResponse>;
}
