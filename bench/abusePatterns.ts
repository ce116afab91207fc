import { MAX_MARKUP_CHARS } from '../server/chat/markdown.js';
import { MAX_MESSAGE_LENGTH } from '../shared/schemas/chat.js';

/** bench:abuse's messages: each pattern repeated to exactly MAX_MESSAGE_LENGTH characters (a tag keeps each unique). */
export const PATTERNS: Record<string, string> = {
  'plain text (baseline)': 'ciao a tutti ',
  '[[[[…': '[',
  '****…': '*',
  '````…': '`',
  '[a]([a](…': '[a](',
  'mixed [*`_<&': '[*`_<&',
  // MAX_MARKUP_CHARS links spread over the message: the most work a message still rendered can ask for.
  'links, at the markup cap': linkUnit(),
};

function linkUnit(): string {
  const link = '[x](https://example.com/a?b=1) ';
  const per = Math.floor(MAX_MESSAGE_LENGTH / MAX_MARKUP_CHARS);
  return link + 'testo '.repeat(Math.ceil(per / 6)).slice(0, per - link.length);
}

export function fill(unit: string, tag: string): string {
  const head = `${tag} `;
  return (
    head + unit.repeat(Math.ceil(MAX_MESSAGE_LENGTH / unit.length)).slice(0, MAX_MESSAGE_LENGTH - head.length)
  );
}
