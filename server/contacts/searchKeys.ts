import { foldForSearch, searchWords } from '../directory/User.js';

export { foldForSearch, searchWords };

/** What the contact list sorts and searches on: folded on write, since FerretDB v1 has no collations. */
export interface ContactSearchKeys {
  /** Folded name and company words (and multi-word names run together), and every number's digit keys. */
  tokens: string[];
  /** Every number's digit keys (see phoneNumbers.ts), for a search by number. */
  digits: string[];
  last: string;
  first: string;
  company: string;
  /** The folded category name ("" for No category), refreshed when a category is renamed. */
  category: string;
}

export function contactSearchKeys(c: {
  lastName: string;
  firstName: string;
  company: string;
  categoryName: string;
  digitKeys: readonly string[];
}): ContactSearchKeys {
  const tokens = new Set<string>();
  for (const text of [c.lastName, c.firstName, c.company]) {
    const words = searchWords(text);
    for (const w of words) tokens.add(w);
    if (words.length > 1) tokens.add(words.join(''));
  }
  for (const d of c.digitKeys) tokens.add(d);
  return {
    tokens: [...tokens],
    digits: [...new Set(c.digitKeys)],
    last: sortKey(c.lastName),
    first: sortKey(c.firstName),
    company: sortKey(c.company),
    category: sortKey(c.categoryName),
  };
}

function sortKey(text: string): string {
  return searchWords(text).join(' ');
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * A query as the list and the phone search read it: its folded words, each of which must start a token, and, when
 * the query looks like a phone number, its digits, which may instead start a number's digit key.
 */
export function parseContactQuery(q: string): { words: string[]; digits?: string } {
  const words = [...new Set(searchWords(q))];
  const out: { words: string[]; digits?: string } = { words };
  if (/^[+\d\s().\-/]+$/.test(q) && /\d/.test(q)) {
    const digits = q.replace(/\D/g, '').replace(/^00/, '');
    if (digits.length > 0) out.digits = digits;
  }
  return out;
}

/** "3427493700" → the anchored regex every search by number uses. */
export function prefixRegex(text: string): string {
  return `^${escapeRegex(foldForSearch(text))}`;
}
