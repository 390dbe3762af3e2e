import type { LoadReport } from '../fhir/canonical-loader.js';
import { applyChanges } from '../fhir/interactions/reactions.js';
import type { Services } from '../fhir/services.js';
import { topicResources } from './topics.js';

/**
 * Stores the shipped topics as `Basic` resources (R4 Backport IG: code SubscriptionTopic) at start-up, as
 * the server, idempotently: a topic that is stored as it is stays unchanged (no new version).
 */
export async function loadTopics(svc: Services): Promise<LoadReport> {
  const server = svc.access.asServer(svc);
  const report: LoadReport = { created: 0, updated: 0, unchanged: 0 };
  await svc.store.transaction(async (tx) => {
    for (const topic of topicResources()) {
      const stored = await svc.store.current('Basic', topic.id as string, tx);
      const written = await applyChanges(server, tx, [topic]);
      if (!written) report.unchanged++;
      else if (stored && !stored.deleted) report.updated++;
      else report.created++;
    }
  });
  return report;
}
