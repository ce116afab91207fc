import { stringify } from 'csv-stringify/sync';
import { CONTACT_CSV_COLUMNS } from '../../../shared/schemas/contacts.js';
import { escapeCell, headerKey, parseCsvRows } from './csvCells.js';
import type { ExportContact, ImportCandidate } from './ImportCandidate.js';
import { InvalidFileError } from './InvalidFileError.js';

/** Our own CSV (see CONTACT_CSV_COLUMNS): the fixed columns, then `typeN,numberN,speedDialN` groups. */
export function parseContactCsv(text: string, maxRows: number): ImportCandidate[] {
  const [header = [], ...rows] = parseCsvRows(text, maxRows);
  const keys = header.map(headerKey);
  const at = (name: string): number => keys.indexOf(name.toLowerCase());
  const missing = ['lastName', 'firstName'].filter((c) => at(c) < 0);
  if (missing.length > 0) {
    throw new InvalidFileError(
      `The CSV lacks the columns ${missing.join(', ')} (download the sample: /api/contacts/sample.csv)`,
    );
  }
  const groups: { type: number; number: number; speedDial: number }[] = [];
  for (let n = 1; at(`number${n}`) >= 0; n++) {
    groups.push({ type: at(`type${n}`), number: at(`number${n}`), speedDial: at(`speedDial${n}`) });
  }
  return rows.map((cells, i): ImportCandidate => {
    const cell = (index: number): string => (index >= 0 ? (cells[index] ?? '') : '');
    const personal = cell(at('personal')).toLowerCase();
    const candidate: ImportCandidate = {
      row: i + 1,
      externalId: cell(at('externalId')) || undefined,
      lastName: cell(at('lastName')),
      firstName: cell(at('firstName')),
      company: cell(at('company')),
      notes: cell(at('notes')),
      categoryNames: cell(at('category')) ? [cell(at('category'))] : undefined,
      numbers: groups.flatMap((g) => {
        const number = cell(g.number);
        if (!number) return [];
        return [
          { type: cell(g.type).toLowerCase() || 'other', number, speedDial: cell(g.speedDial) || undefined },
        ];
      }),
    };
    if (['1', 'true', 'yes', 'si', 'sì', 'x'].includes(personal)) candidate.personal = true;
    else if (['0', 'false', 'no'].includes(personal)) candidate.personal = false;
    else if (personal) candidate.problem = `personal must be 1 or 0, not "${personal}"`;
    return candidate;
  });
}

export function writeContactCsv(contacts: readonly ExportContact[]): string {
  const groups = Math.max(1, ...contacts.map((c) => c.numbers.length));
  const header: string[] = [...CONTACT_CSV_COLUMNS];
  for (let n = 1; n <= groups; n++) header.push(`type${n}`, `number${n}`, `speedDial${n}`);
  const rows = contacts.map((c) => {
    const row = [c.key, c.lastName, c.firstName, c.company, c.categoryName, c.personal ? '1' : '0', c.notes];
    for (let n = 0; n < groups; n++) {
      const number = c.numbers[n];
      row.push(number?.type ?? '', number?.number ?? '', number?.speedDial ?? '');
    }
    return row.map(escapeCell);
  });
  return stringify([header, ...rows], { record_delimiter: '\r\n' });
}

/** SCARICA ESEMPIO CSV: the format with two sample rows. */
export function sampleContactCsv(): string {
  return writeContactCsv([
    {
      key: 'CRM-0001',
      lastName: 'Rossi',
      firstName: 'Mario',
      company: 'Rossi Impianti S.r.l.',
      notes: 'Referente commerciale',
      personal: false,
      categoryName: 'Clienti',
      numbers: [
        { type: 'mobile', number: '+39 342 749 3700', speedDial: '12' },
        { type: 'work', number: '039 123 4567' },
      ],
    },
    {
      key: 'CRM-0002',
      lastName: 'Bianchi',
      firstName: 'Anna',
      company: '',
      notes: '',
      personal: true,
      categoryName: '',
      numbers: [{ type: 'home', number: '02 9876 5432' }],
    },
  ]);
}
