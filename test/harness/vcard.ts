/** A vCard 3.0 file of the given cards (each the lines between BEGIN and END), CRLF-separated. */
export function vcardFile(cards: string[][]): Buffer {
  const lines = cards.flatMap((card) => ['BEGIN:VCARD', 'VERSION:3.0', ...card, 'END:VCARD']);
  return Buffer.from([...lines, ''].join('\r\n'), 'utf8');
}
