type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** An element with attributes (`on…` are listeners) and children; text is always set as text, never as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
}

/** An SVG element (the flow chart, the trend lines). */
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): Element {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Replaces the page's content and its title, and tells screen readers. */
export function show(title: string, ...content: (Child | Child[])[]): void {
  document.title = `${title} – Forløp`;
  const main = document.getElementById('innhold') as HTMLElement;
  main.replaceChildren();
  append(main, content);
  announce(`${title} lastet`);
}

export function announce(text: string): void {
  const live = document.getElementById('melding');
  if (live) live.textContent = text;
}
