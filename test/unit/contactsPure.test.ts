import assert from 'node:assert/strict';
import {
  escapeCell,
  detectDelimiter,
  parseCsvRows,
  unescapeCell,
} from '../../server/contacts/formats/csvCells.js';
import { InvalidFileError } from '../../server/contacts/formats/InvalidFileError.js';
import { decodeText } from '../../server/contacts/formats/textDecoding.js';
import { normalizeVcardText } from '../../server/contacts/formats/vcardText.js';
import { parseVcards } from '../../server/contacts/formats/vcard.js';
import { normalizeNumber } from '../../server/contacts/phoneNumbers.js';
import { contactSearchKeys, parseContactQuery } from '../../server/contacts/searchKeys.js';

describe('Rubrica number normalization', () => {
  it('gives E.164 for a valid number, whatever spaces, dots or international prefix were typed', () => {
    for (const typed of [
      '+39 342 749 3700',
      '342 749 3700',
      '342.749.3700',
      '0039 342 7493700',
      '(342) 749-3700',
    ]) {
      assert.equal(normalizeNumber(typed, 'IT').normalized, '+393427493700', typed);
    }
    assert.equal(normalizeNumber('02 1234 5678', 'IT').normalized, '+390212345678');
    assert.equal(normalizeNumber('+1 415-555-0100', 'IT').normalized, '+14155550100');
    assert.equal(normalizeNumber('(415) 555-0100', 'US').normalized, '+14155550100');
  });

  it('keeps short numbers and extensions as their digits', () => {
    assert.equal(normalizeNumber('951', 'IT').normalized, '951');
    assert.equal(normalizeNumber('1 1 2', 'IT').normalized, '112');
  });

  it('keys a number by every form a search may start with', () => {
    const keys = normalizeNumber('02 1234 5678', 'IT').digitKeys;
    for (const k of ['390212345678', '0212345678']) assert.ok(keys.includes(k), k);
  });
});

describe('Rubrica search keys', () => {
  it('folds accents and case and joins multi-word names', () => {
    const keys = contactSearchKeys({
      lastName: "D'Àngelo",
      firstName: 'Nicolò',
      company: 'Società Élite',
      categoryName: 'Clienti VIP',
      digitKeys: ['393427493700'],
    });
    for (const t of [
      'd',
      'angelo',
      'dangelo',
      'nicolo',
      'societa',
      'elite',
      'societaelite',
      '393427493700',
    ]) {
      assert.ok(keys.tokens.includes(t), t);
    }
    assert.equal(keys.last, 'd angelo');
    assert.equal(keys.category, 'clienti vip');
  });

  it('reads a query as words, and as digits when it looks like a number', () => {
    assert.deepEqual(parseContactQuery('Nicolò Rossi'), { words: ['nicolo', 'rossi'] });
    assert.deepEqual(parseContactQuery('+39 342 749'), { words: ['39', '342', '749'], digits: '39342749' });
    assert.equal(parseContactQuery('0039 342').digits, '39342');
    assert.equal(parseContactQuery('Rossi 342').digits, undefined);
  });
});

describe('Rubrica CSV cells', () => {
  it('escapes cells a spreadsheet would run as formulas, and reads them back', () => {
    for (const v of ['=1+2', '+39 02', '-2', '@SUM(A1)', '\tx', '\rx']) {
      assert.equal(escapeCell(v), `'${v}`);
      assert.equal(unescapeCell(escapeCell(v)), v);
    }
    for (const v of ['Rossi', "'quoted", '02 123', '']) {
      assert.equal(escapeCell(v), v);
      assert.equal(unescapeCell(v), v);
    }
  });

  it('finds the delimiter on the header line, ignoring quoted ones', () => {
    assert.equal(detectDelimiter('a;b;c\n1,2;3'), ';');
    assert.equal(detectDelimiter('"a,b,c"\tx\ty'), '\t');
    assert.equal(detectDelimiter('a,b'), ',');
  });

  it('refuses a file longer than the row limit instead of cutting it', () => {
    assert.throws(() => parseCsvRows('h\n1\n2\n3\n', 2), InvalidFileError);
    assert.equal(parseCsvRows('h\n1\n2\n', 2).length, 3);
  });
});

describe('Rubrica text decoding', () => {
  it('reads UTF-8 with and without BOM, UTF-16 with BOM, and Windows-1252', () => {
    assert.equal(decodeText(Buffer.from('\ufeffPerché', 'utf8')), 'Perché');
    assert.equal(decodeText(Buffer.from('Perché', 'utf8')), 'Perché');
    assert.equal(
      decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Perché', 'utf16le')])),
      'Perché',
    );
    assert.equal(decodeText(Buffer.from([0x50, 0x65, 0x72, 0x63, 0x68, 0xe9, 0x20, 0x80])), 'Perché €');
  });

  it('refuses binary bytes', () => {
    assert.throws(() => decodeText(Buffer.from('a\u0000b')), InvalidFileError);
    assert.throws(() => decodeText(Buffer.from('abc', 'utf16le')), InvalidFileError);
  });
});

describe('Rubrica vCard 2.1 normalization', () => {
  it('decodes quoted-printable across soft line breaks and names bare parameters', () => {
    const text = normalizeVcardText(
      'BEGIN:VCARD\r\nVERSION:2.1\r\nN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Ros=\r\nsi;Nicol=C3=B2\r\nTEL;CELL;VOICE:333\r\nNOTE;QUOTED-PRINTABLE:a=0D=0Ab\r\nEND:VCARD\r\n',
    );
    assert.equal(
      text,
      'BEGIN:VCARD\r\nVERSION:2.1\r\nN:Rossi;Nicolò\r\nTEL;TYPE=CELL,VOICE:333\r\nNOTE:a\\nb\r\nEND:VCARD\r\n',
    );
  });

  it('decodes quoted-printable in the charset the card names', () => {
    const text = normalizeVcardText('N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller\r\n');
    assert.equal(text, 'N:Müller\r\n');
  });

  it('reads each card, and refuses a file whose cards do not close', () => {
    const cards = parseVcards(
      'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nN:B;C\r\nEND:VCARD\r\n',
      10,
    );
    assert.deepEqual(
      cards.map((c) => [c.row, c.lastName, c.firstName]),
      [
        [1, 'A', ''],
        [2, 'B', 'C'],
      ],
    );
    assert.throws(() => parseVcards('BEGIN:VCARD\r\nFN:A\r\n', 10), InvalidFileError);
    assert.throws(() => parseVcards('hello', 10), InvalidFileError);
  });
});
