import iconv from 'iconv-lite';
import { InvalidFileError } from './InvalidFileError.js';

/**
 * The text of an uploaded file: UTF-8 with or without BOM, UTF-16 with a BOM (Outlook's "Unicode" export), or
 * else Windows-1252 (Outlook and Excel on Italian Windows). A file with NUL bytes or other control characters is
 * not text in any of them: refused, not guessed at.
 */
export function decodeText(data: Buffer): string {
  let text: string;
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) text = strictUtf8(data.subarray(3));
  else if (data[0] === 0xff && data[1] === 0xfe) text = iconv.decode(data.subarray(2), 'utf16le');
  else if (data[0] === 0xfe && data[1] === 0xff) text = iconv.decode(data.subarray(2), 'utf16be');
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      text = iconv.decode(data, 'win1252');
    }
  }
  // Tab, LF, CR and form feed are at home in text; any other C0 control (NUL above all: UTF-16 without a BOM,
  // a binary file) means this is not a text file.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) {
    throw new InvalidFileError('The file is not text in UTF-8, UTF-16 or Windows-1252 (it has binary bytes)');
  }
  if (text.includes('\ufffd')) {
    throw new InvalidFileError('The file has bytes that are not valid in its encoding');
  }
  return text;
}

function strictUtf8(data: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new InvalidFileError('The file starts as UTF-8 (a BOM) but is not valid UTF-8');
  }
}
