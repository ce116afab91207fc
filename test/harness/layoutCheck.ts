import type { Page } from 'playwright-core';

/** The page's frame clock, as page.evaluate sees it (this side has no DOM types). */
declare const requestAnimationFrame: (callback: () => void) => number;

export interface LayoutCheckOptions {
  /** CSS selectors whose subtrees are not measured (a video's own pixels, a deliberately clipped preview). */
  ignore?: string[];
}

/**
 * What is wrong with the page's layout as it is drawn now, one line per problem (none: `[]`). Measured with
 * bounding boxes in the page, on what a person can see (in the viewport, not hidden, not scrolled away):
 *
 * - `page wider than the viewport`: a sideways scroll bar on a phone;
 * - `clipped`: visible text cut by an ancestor that hides overflow, or ended with an ellipsis that has no
 *   `title` to read the rest in;
 * - `overlapped`: visible text under another element (measured with elementFromPoint on the text's own boxes),
 *   unless that element is a sticky or fixed bar and the text can be scrolled out from under it (text that is
 *   itself in a sticky or fixed bar, such as the tabs of the top bar, cannot);
 * - `squeezed`: text of three words or more laid out one word per line (a column squeezed to nothing);
 * - `narrow control`: a button, link, tab or select narrower than its content, or a text field narrower than
 *   its value (or placeholder) up to 8em.
 *
 * A harness for every screen's test: the contacts and telephony screens call it as they land.
 */
export async function layoutProblems(page: Page, options: LayoutCheckOptions = {}): Promise<string[]> {
  // A string, not a function: tsx would wrap named helpers in a `__name` call the page does not have.
  return page.evaluate<string[]>(`(${MEASURE})(${JSON.stringify({ ignore: options.ignore ?? [] })})`);
}

/** Resolves once the page has drawn two frames: a change of viewport, theme or language is laid out. */
export async function settled(page: Page): Promise<void> {
  await page.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
  );
}

const MEASURE = String.raw`function measure(opts) {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  const ignored = (el) => opts.ignore.some((s) => el.closest(s));
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).filter(Boolean) : [];
    if (cls.length) s += '.' + cls.slice(0, 3).join('.');
    const parent = el.parentElement && el.parentElement !== document.body ? el.parentElement : null;
    if (parent) {
      let p = parent.tagName.toLowerCase();
      const pc = typeof parent.className === 'string' ? parent.className.trim().split(/\s+/)[0] : '';
      if (pc) p += '.' + pc;
      s = p + ' > ' + s;
    }
    return s;
  };
  const quote = (text) => {
    const t = text.replace(/\s+/g, ' ').trim();
    return '"' + (t.length > 40 ? t.slice(0, 40) + '…' : t) + '"';
  };
  const shown = (el) =>
    el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true });
  // Screen-reader-only text (clipped to 1px on purpose) is not visible text.
  const tiny = (r) => r.width <= 2 || r.height <= 2;
  const inter = (a, b) => {
    const left = Math.max(a.left, b.left);
    const top = Math.max(a.top, b.top);
    const right = Math.min(a.right, b.right);
    const bottom = Math.min(a.bottom, b.bottom);
    return right - left > 0.5 && bottom - top > 0.5 ? { left, top, right, bottom } : null;
  };
  const box = (r) => ({ left: r.left, top: r.top, right: r.right, bottom: r.bottom });
  const fmt = (n) => Math.round(n);

  if (document.documentElement.scrollWidth > vw + 1)
    problems.push('page wider than the viewport: ' + document.documentElement.scrollWidth + ' px in ' + vw + ' px');

  // Asked for every text box and each of its ancestors: read each element's style once.
  const overflows = new Map();
  const overflowOf = (el) => {
    let o = overflows.get(el);
    if (!o) {
      const cs = getComputedStyle(el);
      o = { ox: cs.overflowX, oy: cs.overflowY };
      overflows.set(el, o);
    }
    return o;
  };

  /** The part of r that its element and their scrolling ancestors show, or null; reports text cut by one hiding overflow. */
  const visiblePart = (el, r, text) => {
    let part = box(r);
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const { ox, oy } = overflowOf(a);
      if (ox === 'visible' && oy === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (tiny(ar)) return { part: null, clipped: false };
      const inner = {
        left: ar.left + a.clientLeft,
        top: ar.top + a.clientTop,
        right: ar.left + a.clientLeft + a.clientWidth,
        bottom: ar.top + a.clientTop + a.clientHeight,
      };
      // An ellipsis on the text's own box is a deliberate cut, judged below (it needs a title).
      if (a === el && getComputedStyle(el).textOverflow === 'ellipsis') {
        part = inter(part, inner);
        if (!part) return { part: null, clipped: false };
        continue;
      }
      const hides = (o) => o === 'hidden' || o === 'clip';
      const cutX = part.left < inner.left - 1 || part.right > inner.right + 1;
      const cutY = part.top < inner.top - 1 || part.bottom > inner.bottom + 1;
      if ((hides(ox) && cutX) || (hides(oy) && cutY)) {
        const seen = inter(part, inner);
        // Text entirely hidden by its box is not visible text; partly hidden is clipped.
        if (!seen) return { part: null, clipped: false };
        return { part: seen, clipped: true, by: a };
      }
      part = inter(part, inner);
      if (!part) return { part: null, clipped: false };
    }
    return { part: inter(part, { left: 0, top: 0, right: vw, bottom: vh }), clipped: false };
  };

  const pinned = (el) => {
    for (let a = el; a; a = a.parentElement) {
      const p = getComputedStyle(a).position;
      if (p === 'sticky' || p === 'fixed') return true;
    }
    return false;
  };
  /** Whether el is inside something that scrolls vertically (the page included). */
  const scrolls = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const oy = a === document.documentElement ? 'auto' : getComputedStyle(a).overflowY;
      if ((oy === 'auto' || oy === 'scroll') && a.scrollHeight > a.clientHeight + 1) return true;
    }
    return false;
  };

  const reported = new Set();
  const report = (key, line) => {
    if (reported.has(key)) return;
    reported.add(key);
    problems.push(line);
  };

  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent || '';
    if (!text.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest('script, style, noscript, template, option, svg') || ignored(el)) continue;
    if (!shown(el)) continue;
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
    if (rects.length === 0) continue;
    const words = text.trim().split(/\s+/).length;
    const lines = new Set(rects.map((r) => Math.round(r.top))).size;
    let anyVisible = false;
    for (const r of rects) {
      const v = visiblePart(el, r, text);
      if (!v.part) continue;
      anyVisible = true;
      if (v.clipped)
        report('clip' + name(el) + text, 'clipped: ' + quote(text) + ' in ' + name(el) + ' cut by ' + name(v.by));
      // Sample the text's own box: its middle and near both ends.
      const y = (v.part.top + v.part.bottom) / 2;
      const w = v.part.right - v.part.left;
      for (const x of [v.part.left + Math.min(3, w / 2), (v.part.left + v.part.right) / 2, v.part.right - Math.min(3, w / 2)]) {
        const top = document.elementFromPoint(x, y);
        if (!top || top === el || el.contains(top) || top.contains(el)) continue;
        // A sticky or fixed bar over content that scrolls out from under it hides nothing for good; over another
        // bar that stays put (the top bar's tabs) it does.
        if (pinned(top) && scrolls(el) && !pinned(el)) continue;
        report(
          'over' + name(el) + text,
          'overlapped: ' + quote(text) + ' in ' + name(el) + ' under ' + name(top) + ' ' + quote(top.textContent || '') +
            ' at (' + fmt(x) + ', ' + fmt(y) + ')',
        );
        break;
      }
    }
    if (!anyVisible) continue;
    if (words >= 3 && lines >= words)
      report('squeeze' + name(el) + text, 'squeezed: ' + quote(text) + ' in ' + name(el) + ' takes ' + lines + ' lines for ' + words + ' words');
    const cs = getComputedStyle(el);
    if (cs.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1 && !el.closest('[title]'))
      report('ellipsis' + name(el) + text, 'clipped: ' + quote(text) + ' in ' + name(el) + ' ends with an ellipsis and no title');
  }

  const canvas = document.createElement('canvas').getContext('2d');
  const textWidth = (el, s) => {
    const cs = getComputedStyle(el);
    canvas.font = cs.font;
    return canvas.measureText(s).width;
  };
  const controls = document.querySelectorAll(
    'button, a[href], select, textarea, [role=button], [role=tab], [role=menuitem], ' +
      'input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=range]):not([type=color]):not([type=file])',
  );
  for (const el of controls) {
    if (ignored(el) || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (tiny(r) || r.bottom <= 0 || r.top >= vh || r.right <= 0 || r.left >= vw) continue;
    const cs = getComputedStyle(el);
    const padX = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight);
    const borderX = parseFloat(cs.borderLeftWidth) + parseFloat(cs.borderRightWidth);
    const tag = el.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA') {
      const content = el.value || el.placeholder || '';
      const em = parseFloat(cs.fontSize);
      const needed = Math.min(textWidth(el, content) + padX + borderX, 8 * em);
      if (r.width + 1 < needed)
        report('narrow' + name(el), 'narrow control: ' + name(el) + ' is ' + fmt(r.width) + ' px wide for ' + quote(content) + ' (needs ' + fmt(needed) + ')');
    } else if (tag === 'SELECT') {
      const label = el.selectedOptions[0] ? el.selectedOptions[0].textContent || '' : '';
      // Room for the arrow, about 1.5em.
      const needed = textWidth(el, label) + padX + borderX + 1.5 * parseFloat(cs.fontSize);
      if (r.width + 1 < needed)
        report('narrow' + name(el), 'narrow control: ' + name(el) + ' is ' + fmt(r.width) + ' px wide for ' + quote(label) + ' (needs ' + fmt(needed) + ')');
    } else if (el.scrollWidth > el.clientWidth + 1) {
      report('narrow' + name(el), 'narrow control: ' + name(el) + ' ' + quote(el.textContent || el.getAttribute('aria-label') || '') + ' is ' + el.clientWidth + ' px wide for ' + el.scrollWidth + ' px of content');
    }
  }
  return problems;
}`;
