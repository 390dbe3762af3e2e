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
  const width = 300;
  const gap = 18;
  const heightOf = (st: Step) => (st.limits.length ? 50 : 32);
  const height = list.reduce((sum, st) => sum + heightOf(st) + gap, 0);
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-labelledby': 'flyt-tittel',
    id: 'flytskjema',
  });
  chart.append(svg('title', { id: 'flyt-tittel' }, `Flytskjema for ${plan.title ?? 'forløpet'}`));
  let y = 0;
  list.forEach((st, i) => {
    const boxH = heightOf(st);
    chart.append(svg('rect', { x: 2, y, width: width - 4, height: boxH, rx: 6, fill: '#eef3f8', stroke: '#0b4f8a' }));
    chart.append(svg('text', { x: 10, y: y + 20, fill: '#1b1b1b', 'font-weight': 600 }, short(st.title, 38)));
    if (st.limits.length) chart.append(svg('text', { x: 10, y: y + 40, fill: '#4a4a4a' }, short(st.limits[0], 42)));
    y += boxH;
    if (i < list.length - 1) {
      chart.append(svg('line', { x1: 20, y1: y, x2: 20, y2: y + gap, stroke: '#4a4a4a', 'stroke-width': 2 }));
    }
    y += gap;
  });
  const text = h(
    'ol',
    { class: 'sr-only' },
    list.map((st) => h('li', {}, st.title, st.limits.length ? `: ${st.limits.join('; ')}` : '')),
  );
  return h('figure', { class: 'card' }, h('figcaption', {}, h('strong', {}, 'Forløpet')), chart, text);
}

const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
