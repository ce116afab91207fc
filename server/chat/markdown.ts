import markdownit, { type MarkdownIt } from 'markdown-it';

/**
 * The small markdown subset chat messages support, rendered as Matrix `formatted_body`
 * (org.matrix.custom.html): **bold**, *italic*, `code`, [text](https://link) (http, https and mailto only) and
 * line breaks. Everything else is escaped text. Returns undefined when the message has no markup, so plain
 * messages stay plain.
 *
 * markdown-it parses in linear time (its delimiter and link-label scans are bounded; the hand-written regular
 * expressions this replaced were quadratic on "[[[[…" and froze the event loop for every meeting on the node).
 * Its constant is still up to ~15 µs per markup character (a link's URL is parsed and normalised), so a message
 * with more than MAX_MARKUP_CHARS of them is sent as plain text: no person writes a hundred bold words or links
 * in one message, and it keeps the worst message a couple of milliseconds of work (see `npm run bench:abuse`).
 */
export const MAX_MARKUP_CHARS = 200;

/** Characters that can start markup in our subset. `_` is not one: only `*` makes emphasis. */
const MARKUP_CHARS = /[*`[]/g;
const MARKUP_TOKENS = new Set(['strong_open', 'em_open', 'code_inline', 'link_open']);

const md = createRenderer();

function createRenderer(): MarkdownIt {
  // 'zero' enables nothing but plain text; only our subset is switched on. No block syntax (headings, lists,
  // quotes, code blocks), no HTML, no entities, no autolinks or images. Backslash escapes (\*) write a literal star.
  const renderer = markdownit('zero', { html: false, linkify: false, typographer: false });
  renderer.enable(['emphasis', 'backticks', 'link', 'newline', 'escape']);
  // `_` never opens emphasis (the product's italic is `*x*`): taken as text before the emphasis rule sees it.
  renderer.inline.ruler.before('emphasis', 'underscore_text', (state, silent) => {
    if (state.src.charCodeAt(state.pos) !== 0x5f /* _ */) return false;
    if (!silent) state.pending += '_';
    state.pos++;
    return true;
  });
  renderer.validateLink = (url) => /^(https?:\/\/|mailto:)/i.test(url.trim());
  // Matrix clients expect <br>, without the newline markdown-it adds after it.
  renderer.renderer.rules.softbreak = () => '<br>';
  renderer.renderer.rules.hardbreak = () => '<br>';
  return renderer;
}

export function renderMarkdown(input: string): string | undefined {
  const markupChars = input.match(MARKUP_CHARS)?.length ?? 0;
  if (markupChars === 0 || markupChars > MAX_MARKUP_CHARS) return undefined;
  const env = {};
  const tokens = md.parseInline(input, env);
  const hasMarkup = tokens.some((t) => t.children?.some((c) => MARKUP_TOKENS.has(c.type)));
  return hasMarkup ? md.renderer.render(tokens, md.options, env) : undefined;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
