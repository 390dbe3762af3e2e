import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from './request.js';
import type { Services } from './services.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

export interface ExamplesReport {
  loaded: string[];
  present: string[];
}

/**
 * Loads the shipped example journeys (`examples/*.json` transaction Bundles) as any client would post
 * them — validated, with the pathway reactions — for the demo server. A Bundle whose first PUT resource
 * is already stored is taken as loaded before and left alone, so a restart writes nothing and data
 * edited since is not overwritten. Other Bundles (collections, reports) are examples to read only.
 */
export async function loadExamples(
  svc: Services,
  dispatch: (req: FhirRequest) => Promise<FhirResponse>,
  dir = EXAMPLES_DIR,
): Promise<ExamplesReport> {
  const report: ExamplesReport = { loaded: [], present: [] };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const bundle = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Bundle;
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') continue;
    const first = bundle.entry?.find((e) => e.request?.method === 'PUT')?.resource;
    const existing = first?.id ? await svc.store.current(first.resourceType, first.id) : undefined;
    if (existing && !existing.deleted) {
      report.present.push(file);
      continue;
    }
    const res = await dispatch({
      method: 'POST',
      path: [],
      query: [],
      headers: { contentType: 'application/fhir+json', prefer: 'return=minimal' },
      body: bundle,
    });
    if (res.status !== 200)
      throw new Error(`examples/${file} was refused (${res.status}): ${res.raw ?? JSON.stringify(res.resource)}`);
    report.loaded.push(file);
  }
  return report;
}
