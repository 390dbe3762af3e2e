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
  methods: ('GET' | 'POST')[];
  handler(svc: Services, req: FhirRequest, target: { type?: string; id?: string }): Promise<FhirResponse>;
}
