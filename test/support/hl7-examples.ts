import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Example = { file: string; resource: Record<string, unknown> & { resourceType: string; id: string } };

/** The 711 instance examples of the R4 specification (../shared/testdata/hl7-r4-examples). */
export const HL7_EXAMPLES_DIR = join(import.meta.dirname, '../../../shared/testdata/hl7-r4-examples');

export const ALL_EXAMPLES: Example[] = readdirSync(HL7_EXAMPLES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    resource: JSON.parse(readFileSync(join(HL7_EXAMPLES_DIR, file), 'utf8')) as Example['resource'],
  }));

/**
 * Examples that are invalid per the R4 specification itself, with the reason: the server refuses
 * them on write (422), so the REST tests use the others. Checked by test/validation/hl7-examples.
 */
export const GENUINELY_INVALID: Record<string, { reason: string; expression: string }> = {
  'Questionnaire-qs1.json': {
    reason: 'its nested items have no linkId, which Questionnaire.item.linkId (1..1) requires',
    expression: 'Questionnaire.item[0].item[0].linkId',
  },
};

/**
 * Valid examples that this server's own rules refuse from a client, with the reason and the element
 * named in the 422: the REST tests use the others, and test/hl7-examples.test.ts checks each refusal.
 */
export const REFUSED_BY_RULE: Record<string, { reason: string; expression: string }> = {
  'Subscription-example-error.json': {
    reason: 'R4 Subscription: a client submits a subscription requested or off; only the server sets error',
    expression: 'Subscription.status',
  },
  'Subscription-example.json': {
    reason: "its endpoint (biliwatch.com) is not on the server's allow-list (SUBSCRIPTION_ENDPOINTS, empty by default)",
    expression: 'Subscription.channel.endpoint',
  },
};

/** The examples a strict server stores with its default settings. */
export const VALID_EXAMPLES = ALL_EXAMPLES.filter((e) => !GENUINELY_INVALID[e.file] && !REFUSED_BY_RULE[e.file]);
