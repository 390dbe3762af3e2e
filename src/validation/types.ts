// The validator's port is defined by the core, which calls it on every write; the validator implements it.
export type { ResourceValidator, ValidateOptions } from '../fhir/ports.js';
