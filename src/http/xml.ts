import { loadDefinitions } from '../fhir/definitions.js';
import { xmlModel, type XmlModel } from '../xml/model.js';

/**
 * The XML element model the adapter reads and writes with: over the R4 StructureDefinitions that
 * src/fhir/definitions.ts has already loaded (its cache; the bundle is not parsed again), built once.
 */
export function adapterXmlModel(): XmlModel {
  return xmlModel(loadDefinitions().structures);
}
