import { svg } from './dom.js';
import type { Point } from './indicator-data.js';
import { periodName } from './periods.js';

const W = 720;
const H = 280;
const PAD = { left: 48, right: 16, top: 16, bottom: 48 };

const pct = (v: number) => `${Math.round(v * 100)} %`;

/**
 * The trend as an SVG line chart: share (0–100 %) per period, the target as a dashed line, each point
 * a link (keyboard and touch) that opens the pathways behind it.
 */
export function trendChart(points: Point[], target: number | undefined, open: (i: number) => void): Element {
  const x = (i: number) => PAD.left + ((W - PAD.left - PAD.right) * (i + 0.5)) / points.length;
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v);
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: '100%',
    role: 'group',
    'aria-label': 'Trend',
    id: 'trend',
  });
  for (const v of [0, 0.5, 1]) {
    chart.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: '#c8c8c8' }));
    chart.append(svg('text', { x: 4, y: y(v) + 4, fill: '#4a4a4a' }, pct(v)));
  }
  if (target !== undefined) {
    chart.append(
      svg('line', {
        x1: PAD.left,
        x2: W - PAD.right,
        y1: y(target),
        y2: y(target),
        stroke: '#b00020',
        'stroke-dasharray': '6 4',
        'stroke-width': 2,
        id: 'mal',
      }),
    );
    chart.append(svg('text', { x: W - PAD.right - 70, y: y(target) - 6, fill: '#b00020' }, `Mål ${pct(target)}`));
  }
  const scored = points.map((p, i) => ({ p, i })).filter(({ p }) => p.score !== undefined);
  if (scored.length > 1) {
    const d = scored.map(({ p, i }, k) => `${k ? 'L' : 'M'}${x(i)},${y(p.score as number)}`).join(' ');
    chart.append(svg('path', { d, fill: 'none', stroke: '#0b4f8a', 'stroke-width': 2 }));
  }
  points.forEach((p, i) => {
    chart.append(svg('text', { x: x(i) - 18, y: H - 24, fill: '#4a4a4a' }, p.period.slice(2)));
    if (p.score === undefined) return;
    const label = `${periodName(p.period)}: ${pct(p.score)} (${p.numerator} av ${p.denominator}). Vis forløpene.`;
    const dot = svg(
      'a',
      { href: `#punkt-${i}`, 'aria-label': label, class: 'punkt', 'data-period': p.period },
      svg('circle', { cx: x(i), cy: y(p.score), r: 9, fill: '#0b4f8a', stroke: '#fff', 'stroke-width': 2 }),
    );
    dot.addEventListener('click', (e) => {
      e.preventDefault();
      open(i);
    });
    chart.append(dot);
  });
  return chart;
}
