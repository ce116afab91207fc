import iconv from 'iconv-lite';

/**
 * vCard 2.1 as phones and Outlook still write it, rewritten into the 3.0 syntax ical.js parses: quoted-printable
 * values (with their `=` soft line breaks) decoded, bare parameters (`TEL;CELL;VOICE`) given their `TYPE=` name,
 * CHARSET dropped once the value is decoded, the blank lines after 2.1's base64 blocks removed. 3.0 and 4.0
 * cards pass through unchanged.
 */
export function normalizeVcardText(text: string): string {
  const lines = text.split(/\r\n|\n|\r/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const colon = contentColon(line);
    if (colon < 0) {
      out.push(line);
      continue;
    }
    let head = line.slice(0, colon);
    if (!/;/.test(head)) {
      out.push(line);
      continue;
    }
    const params = head.split(';');
    const name = params.shift() ?? '';
    const qp = params.some((p) => /^(encoding=)?quoted-printable$/i.test(p));
    if (qp) {
      // A soft line break ("=" at the end) continues the value on the next physical line.
      while (line.endsWith('=') && i + 1 < lines.length) line = line.slice(0, -1) + (lines[++i] ?? '');
    }
    const charset = params.find((p) => /^charset=/i.test(p))?.slice('charset='.length) ?? 'utf-8';
    const kept: string[] = [];
    const types: string[] = [];
    for (const p of params) {
      if (/^(encoding=)?quoted-printable$/i.test(p) || /^charset=/i.test(p)) continue;
      if (/^(encoding=)?base64$/i.test(p)) kept.push('ENCODING=b');
      else if (p.includes('=')) kept.push(p);
      else types.push(p);
    }
    if (types.length > 0) kept.push(`TYPE=${types.join(',')}`);
    head = [name, ...kept].join(';');
    let value = line.slice(colon + 1);
    if (qp) value = escapeText(decodeQuotedPrintable(value, charset));
    out.push(`${head}:${value}`);
  }
  return out.join('\r\n') + '\r\n';
}

/** The colon that ends a content line's name and parameters (a quoted parameter value may hold one). */
function contentColon(line: string): number {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === ':' && !quoted) return i;
  }
  return -1;
}

function decodeQuotedPrintable(value: string, charset: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] ?? '';
    const hex = value.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(ch, 'latin1')) bytes.push(b);
    }
  }
  const encoding = iconv.encodingExists(charset) ? charset : 'utf-8';
  return iconv.decode(Buffer.from(bytes), encoding);
}

/** A decoded value's line breaks, in the escaped form of 3.0 (`;` and `,` keep their structural meaning). */
function escapeText(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\r\n|\n|\r/g, '\\n');
}
