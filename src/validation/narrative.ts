import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

const LOCAL_HREF = /<a\s[^>]*?href\s*=\s*(["'])#([^"']*)\1/gi;
const ANCHOR = /\s(?:name|id)\s*=\s*(["'])([^"']*)\1/gi;

/**
 * Links inside a resource's narrative (R4 §2.4 narrative.html: `text.div` is XHTML): a local
 * hyperlink `href="#x"` must lead somewhere in the resource — an element with `id` or an anchor with
 * `name` "x" in its narrative or a contained resource's, or a contained resource with id "x". One
 * error per link that does not resolve, at the div. Cheap: a div without `href="#` is not scanned.
 */
export function narrativeIssues(resource: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  const div = divOf(resource);
  if (!div || !div.includes('#')) return [];
  const links = [...div.matchAll(LOCAL_HREF)].map((m) => m[2]);
  if (!links.length) return [];
  const contained = Array.isArray(resource.contained) ? (resource.contained as Record<string, unknown>[]) : [];
  const names = new Set<string>();
  for (const r of [resource, ...contained]) {
    for (const m of (divOf(r) ?? '').matchAll(ANCHOR)) names.add(m[2]);
    if (r !== resource && typeof r?.id === 'string') names.add(r.id);
  }
  return links
    .filter((target) => target !== '' && !names.has(decode(target)) && !names.has(target))
    .map((target) => ({
      severity: 'error',
      code: 'business-rule',
      diagnostics: `The narrative's hyperlink '#${target}' does not resolve: no element, anchor or contained resource has that id`,
      expression: [`${path}.text.div`],
    }));
}

function divOf(resource: Record<string, unknown> | undefined): string | undefined {
  const div = (resource?.text as { div?: unknown } | undefined)?.div;
  return typeof div === 'string' ? div : undefined;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
