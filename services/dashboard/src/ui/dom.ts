// Building the page's elements: text is never parsed as HTML.

/** An element of the page by id (the page shell, public/index.html, has them all). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<
  string,
  string | number | boolean | null | undefined | Record<string, string> | EventListener
>;

/** `h('td', { class: 'num' }, 'text', child, ...)`: `on<event>` attributes are listeners, `dataset` an object. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset' && typeof v === 'object') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of (children as unknown[]).flat(Number.POSITIVE_INFINITY) as Child[]) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const svgNs = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(svgNs, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A table row with one cell spanning `columns`, e.g. "No trigger yet.". */
export function emptyRow(columns: number, text: string, cls = 'empty'): HTMLTableRowElement {
  return h('tr', {}, h('td', { colspan: columns, class: cls }, text));
}
