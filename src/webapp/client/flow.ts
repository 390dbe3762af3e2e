import type { PlanDefinition, PlanDefinitionAction } from '@medplum/fhirtypes';
import { h, svg } from './dom.js';

const LIMIT = 'http://forlop.no/fhir/StructureDefinition/pathway-time-limit';
const EVENT = 'urn:oid:2.16.578.1.12.4.1.1.9322';

/** A time limit in words: `%from.addCalendarDays(42)` → «42 kalenderdager». */
export function limitText(rule: string | undefined): string {
  const m = /add(Calendar|Working)Days\((\d+)\)/.exec(rule ?? '');
  if (!m) return rule ?? '';
  return `${m[2]} ${m[1] === 'Calendar' ? 'kalenderdager' : 'virkedager'}`;
}

interface Step {
  id: string;
  title: string;
  limits: string[];
}

/** The pathway's event steps in order, with each time limit and the step it counts from. */
export function steps(plan: PlanDefinition): Step[] {
  const titles = new Map((plan.action ?? []).map((a) => [a.id, a.title ?? a.id ?? '']));
  const events = (plan.action ?? []).filter((a) => a.code?.some((c) => c.coding?.some((x) => x.system === EVENT)));
  return events.map((a: PlanDefinitionAction) => ({
    id: a.id ?? '',
    title: a.title ?? a.id ?? '',
    limits: (a.extension ?? [])
      .filter((e) => e.url === LIMIT)
      .map((e) => {
        const sub = (n: string) => e.extension?.find((x) => x.url === n);
        const cond = sub('condition')?.valueExpression?.expression;
        const from = titles.get(sub('from')?.valueId) ?? sub('from')?.valueId ?? '';
        const text = `innen ${limitText(sub('rule')?.valueExpression?.expression)} fra «${from}»`;
        return cond ? `${text} (når ${cond.replace(/%/g, '')})` : text;
      }),
  }));
}

/** The pathway as a flow chart (SVG, one box per event, the time limits written on the arrows), with a text twin. */
export function flowChart(plan: PlanDefinition): HTMLElement {
  const list = steps(plan);
  const boxH = 44;
  const gap = 34;
  const width = 340;
  const height = list.length * (boxH + gap);
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-labelledby': 'flyt-tittel',
    id: 'flytskjema',
  });
  chart.append(svg('title', { id: 'flyt-tittel' }, `Flytskjema for ${plan.title ?? 'forløpet'}`));
  list.forEach((s, i) => {
    const y = i * (boxH + gap);
    chart.append(svg('rect', { x: 4, y, width: width - 8, height: boxH, rx: 6, fill: '#eef3f8', stroke: '#0b4f8a' }));
    chart.append(svg('text', { x: 14, y: y + 27, fill: '#1b1b1b' }, s.title));
    if (i < list.length - 1) {
      const y2 = y + boxH;
      chart.append(svg('line', { x1: 24, y1: y2, x2: 24, y2: y2 + gap, stroke: '#4a4a4a', 'stroke-width': 2 }));
      const next = list[i + 1].limits[0];
      if (next) chart.append(svg('text', { x: 34, y: y2 + 22, fill: '#4a4a4a' }, next.slice(0, 48)));
    }
  });
  const text = h(
    'ol',
    { class: 'sr-only' },
    list.map((s) => h('li', {}, s.title, s.limits.length ? `: ${s.limits.join('; ')}` : '')),
  );
  return h('figure', { class: 'card' }, h('figcaption', {}, h('strong', {}, 'Forløpet')), chart, text);
}
