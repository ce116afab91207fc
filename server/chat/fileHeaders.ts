/**
 * Headers of chat files served to browsers. Files are user content: only raster images are shown inline, and
 * everything else is a download, whatever type the uploader claimed.
 */

/** Types a browser renders as a picture and nothing else (SVG is left out: it is a document that can script). */
const INLINE_IMAGE_TYPES = new Set([
  'image/png',
  'image/apng',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
]);

export function isInlineImage(contentType: string): boolean {
  const essence = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return INLINE_IMAGE_TYPES.has(essence);
}

/**
 * The file name in a Content-Disposition header, as Synapse writes it: `filename*=utf-8''<percent-encoded>`
 * (RFC 5987), or `filename=<token>` / `filename="<quoted>"`. The extended form wins when both are present.
 */
export function fileNameOf(header: string | null): string | undefined {
  if (!header) return undefined;
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(header)?.[1]?.trim();
  if (extended) {
    const match = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[^']*'(.*)$/.exec(extended);
    const charset = match?.[1]?.toLowerCase();
    if (match && (charset === 'utf-8' || charset === 'utf8')) {
      try {
        return nonEmpty(decodeURIComponent(match[2] ?? ''));
      } catch {
        // Not valid percent-encoded UTF-8: fall back to the plain parameter.
      }
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/i.exec(header)?.[1]?.trim();
  if (!plain) return undefined;
  return nonEmpty(plain.startsWith('"') ? plain.slice(1, -1).replace(/\\(.)/g, '$1') : plain);
}

/**
 * `inline` or `attachment`, with the name both as an ASCII `filename` (for old clients) and as RFC 5987
 * `filename*` (the exact UTF-8 name). Path separators and control characters never reach the browser.
 */
export function contentDisposition(disposition: 'inline' | 'attachment', name: string | undefined): string {
  const safe = name?.replace(/[\p{Cc}/\\]/gu, '_').trim();
  if (!safe) return disposition;
  const ascii = safe.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(safe)}`;
}

/** Percent-encodes everything outside RFC 5987's attr-char: encodeURIComponent, plus the `'()*` it leaves. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function nonEmpty(s: string): string | undefined {
  return s === '' ? undefined : s;
}
