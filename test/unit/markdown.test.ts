import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editContent, textContent } from '../../server/chat/messageContent.js';
import { MAX_MARKUP_CHARS, renderMarkdown } from '../../server/chat/markdown.js';

const N = 20_000;
const repeat = (unit: string): string => unit.repeat(Math.ceil(N / unit.length)).slice(0, N);

describe('chat markdown', () => {
  it('renders bold, italic, code, http(s) and mailto links and line breaks, and escapes the rest', () => {
    assert.equal(
      renderMarkdown('ciao **Giulia**, <b>vedi</b> `x`'),
      'ciao <strong>Giulia</strong>, &lt;b&gt;vedi&lt;/b&gt; <code>x</code>',
    );
    assert.equal(renderMarkdown('a\n*b*'), 'a<br><em>b</em>');
    assert.equal(
      renderMarkdown('[sito](https://example.com/a?b=1&c=2) e [posta](mailto:a@b.it)'),
      '<a href="https://example.com/a?b=1&amp;c=2">sito</a> e <a href="mailto:a@b.it">posta</a>',
    );
    assert.equal(renderMarkdown('`<script>` & "q"'), '<code>&lt;script&gt;</code> &amp; &quot;q&quot;');
    assert.equal(renderMarkdown('[**b**](https://x.it)'), '<a href="https://x.it"><strong>b</strong></a>');
  });

  it('leaves everything outside the subset as text: other links, HTML, block syntax, underscores, images', () => {
    assert.equal(
      renderMarkdown('[js](javascript:alert(1)) [rel](/x) [f](file:///etc/passwd) **b**'),
      '[js](javascript:alert(1)) [rel](/x) [f](file:///etc/passwd) <strong>b</strong>',
    );
    assert.equal(
      renderMarkdown('# titolo\n- lista\n> citazione **b**'),
      '# titolo<br>- lista<br>&gt; citazione <strong>b</strong>',
    );
    assert.equal(renderMarkdown('snake_case _no_ *sì*'), 'snake_case _no_ <em>sì</em>');
    assert.equal(
      renderMarkdown('<em>x</em> &amp; **y**'),
      '&lt;em&gt;x&lt;/em&gt; &amp;amp; <strong>y</strong>',
    );
    assert.equal(renderMarkdown('\\*stella\\* **b**'), '*stella* <strong>b</strong>');
  });

  it('is undefined for a message without markup, so plain messages stay plain', () => {
    assert.equal(renderMarkdown('solo testo'), undefined);
    assert.equal(renderMarkdown('due\nrighe <b> & [x](/y)'), undefined);
    assert.equal(renderMarkdown('un * solo e un ` solo'), undefined);
    assert.deepEqual(textContent('solo testo'), { msgtype: 'm.text', body: 'solo testo' });
  });

  it('renders pathological 20,000-character messages to the right text (no markup is invented)', () => {
    // Each of these was quadratic with the old regular expressions; the output is checked, the time is
    // bench:abuse's job. Over MAX_MARKUP_CHARS markup characters a message is plain text.
    for (const unit of ['[', '*', '`', '[a](', '**a*', '[*`_', '[]('])
      assert.equal(renderMarkdown(repeat(unit)), undefined, unit);
    // Just under the cap the parser runs, and what it gives is escaped text with the markup it found.
    const brackets = `${'['.repeat(MAX_MARKUP_CHARS - 4)}**x**`;
    assert.equal(renderMarkdown(brackets), `${'['.repeat(MAX_MARKUP_CHARS - 4)}<strong>x</strong>`);
    const opens = `${'[a]('.repeat(MAX_MARKUP_CHARS - 2)}\`c\``;
    assert.equal(renderMarkdown(opens), `${'[a]('.repeat(MAX_MARKUP_CHARS - 2)}<code>c</code>`);
    const links = '[x](https://a.it) '.repeat(MAX_MARKUP_CHARS);
    assert.equal(renderMarkdown(links)?.split('<a href="https://a.it">x</a>').length, MAX_MARKUP_CHARS + 1);
  });

  it('never lets markup out of its escaping, whatever the input (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            '*',
            '`',
            '[',
            ']',
            '(',
            ')',
            '<',
            '>',
            '"',
            '&',
            'a',
            ' ',
            '\n',
            'https://',
            '_',
            '\\',
          ),
        }),
        (text) => {
          const html = renderMarkdown(text);
          if (html === undefined) return;
          // Only our tags, and every other < is escaped.
          const tags = html.match(/<[^>]*>/g) ?? [];
          for (const tag of tags)
            assert.match(
              tag,
              /^<(\/?(strong|em|code)|br|a href="(https?:\/\/|mailto:)[^"]*"( title="[^"]*")?|\/a)>$/,
            );
        },
      ),
    );
  });

  it('keeps a message that is mostly escapes under the event size limit by sending it plain', () => {
    const heavy = `**b** ${'&'.repeat(N - 6)}`;
    const content = textContent(heavy);
    assert.equal(content.formatted_body, undefined);
    assert.equal(content.body, heavy);
    const light = textContent('**b** &');
    assert.equal(light.formatted_body, '<strong>b</strong> &amp;');
  });

  it('renders an edit once: the fallback is the new text after "* ", shortened when both would not fit', () => {
    const edit = editContent('**nuovo**', '$orig');
    assert.equal(edit.body, '* **nuovo**');
    assert.equal(edit.formatted_body, '* <strong>nuovo</strong>');
    assert.deepEqual(edit['m.new_content'], textContent('**nuovo**'));
    assert.deepEqual(edit['m.relates_to'], { rel_type: 'm.replace', event_id: '$orig' });
    const long = 'è'.repeat(N);
    const big = editContent(long, '$orig');
    assert.deepEqual(big['m.new_content'], { msgtype: 'm.text', body: long });
    assert.ok(typeof big.body === 'string' && big.body.length < 600);
    assert.ok(Buffer.byteLength(JSON.stringify(big)) < 65_536);
  });
});
