import { parse } from 'csv-parse/sync';
import { InvalidFileError } from './InvalidFileError.js';

/** Leading characters a spreadsheet reads as a formula (or that hide one behind a tab or a line break). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A cell as our CSV exports write it: a would-be formula gets a leading `'`, which spreadsheets show as text. */
export function escapeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The inverse of escapeCell, so that an export re-imported gives back the same values ("'+39 02…" → "+39 02…"). */
export function unescapeCell(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

/** The delimiter of a CSV: the most frequent of `,` `;` tab on its first line, outside quotes. */
export function detectDelimiter(text: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  for (const [ch, n] of counts) if (n > (counts.get(best) ?? 0)) best = ch;
  return best;
}

/** Rows of a CSV, header first, every cell a string; a malformed file (a broken quote) is INVALID_FILE. */
export function parseCsvRows(text: string, maxRows: number): string[][] {
  let rows: string[][];
  try {
    rows = parse(text, {
      delimiter: detectDelimiter(text),
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      // One row past the limit, to tell a file that is too long from one that just fits.
      to: maxRows + 2,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InvalidFileError(`The CSV cannot be read: ${reason}`);
  }
  if (rows.length === 0) throw new InvalidFileError('The CSV is empty');
  if (rows.length > maxRows + 1) throw new InvalidFileError(`The CSV has more than ${maxRows} rows`);
  return rows.map((r) => r.map((c) => unescapeCell(c.trim())));
}

/** A header as the importers compare it: folded, without accents, spaces collapsed. */
export function headerKey(header: string): string {
  return header.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}
