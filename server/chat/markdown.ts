/**
 * The small markdown subset chat messages support, rendered as Matrix `formatted_body`
 * (org.matrix.custom.html): **bold**, *italic*, `code`, [text](https://link) and line breaks. Everything else is
 * escaped text. Returns undefined when the message has no markup, so plain messages stay plain.
 */
export function renderMarkdown(input: string): string | undefined {
  let markup = false;
  // U+E000 (private use) marks link placeholders below; it has no place in a chat message anyway.
  const text = input.replace(/\uE000/g, '');
  const parts = text.split(/(`[^`\n]+`)/);
  const html = parts
    .map((part, i) => {
      if (i % 2 === 1) {
        markup = true;
        return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
      }
      const rendered = renderInline(part);
      if (rendered !== escapeHtml(part)) markup = true;
      return rendered;
    })
    .join('');
  return markup ? html.replace(/\n/g, '<br>') : undefined;
}

function renderInline(text: string): string {
  // Links first, kept aside so emphasis never reaches into a URL.
  const links: string[] = [];
  let out = escapeHtml(text).replace(
    /\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:)[^\s()]+)\)/g,
    (_m, label: string, href: string) => {
      links.push(`<a href="${href}">${label}</a>`);
      return `\uE000${links.length - 1}\uE000`;
    },
  );
  out = out.replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, '<strong>$1</strong>');
  out = out.replace(/(^|[^*\p{L}\p{N}])\*(?=\S)([^*\n]*?\S)\*(?![*\p{L}\p{N}])/gu, '$1<em>$2</em>');
  return out.replace(/\uE000(\d+)\uE000/g, (_m, i: string) => links[Number(i)] ?? '');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
