import { stringify } from 'csv-stringify/sync';
import type { NumberType } from '../../../shared/schemas/contacts.js';
import { escapeCell, headerKey, parseCsvRows } from './csvCells.js';
import type { ExportContact, ImportCandidate } from './ImportCandidate.js';
import { InvalidFileError } from './InvalidFileError.js';

type Field =
  'firstName' | 'middleName' | 'lastName' | 'company' | 'notes' | 'categories' | 'sensitivity' | 'externalId';

/**
 * Outlook's CSV headers (and Google Contacts' "Outlook CSV"), English and Italian Outlook, folded by headerKey.
 * Numbers: each header is one number of that type.
 */
const FIELD_HEADERS: Record<Field, string[]> = {
  firstName: ['first name', 'given name', 'nome'],
  middleName: ['middle name', 'secondo nome', 'altro nome'],
  lastName: ['last name', 'family name', 'surname', 'cognome'],
  company: ['company', 'organization 1 - name', 'societa', 'azienda', 'organizzazione'],
  notes: ['notes', 'note', 'notes 1'],
  categories: ['categories', 'categorie', 'group membership'],
  sensitivity: ['sensitivity', 'riservatezza', 'privato'],
  externalId: ['external id', 'id esterno'],
};

const NUMBER_HEADERS: Record<NumberType, string[]> = {
  mobile: ['mobile phone', 'cellulare', 'telefono cellulare', 'cell phone', 'mobile', 'cellulare 2'],
  work: [
    'business phone',
    'business phone 2',
    'company main phone',
    'ufficio',
    'ufficio 2',
    'telefono ufficio',
    'telefono (uff.)',
    'telefono ufficio 2',
    'telefono principale societa',
    'telefono principale della societa',
  ],
  home: [
    'home phone',
    'home phone 2',
    'abitazione',
    'abitazione 2',
    'telefono abitazione',
    'telefono abitazione 2',
    'casa',
  ],
  fax: [
    'business fax',
    'home fax',
    'other fax',
    'fax (uff.)',
    'fax ufficio',
    'fax abitazione',
    'altro fax',
    'fax',
  ],
  other: [
    'other phone',
    'primary phone',
    'car phone',
    'pager',
    'altro telefono',
    'telefono principale',
    'telefono auto',
    'cercapersone',
    'radiotelefono',
    'phone',
    'telefono',
  ],
};

/** Reads an Outlook CSV. A file without any column we know is INVALID_FILE (it is not an Outlook CSV). */
export function parseOutlookCsv(text: string, maxRows: number): ImportCandidate[] {
  const [header = [], ...rows] = parseCsvRows(text, maxRows);
  const keys = header.map(headerKey);
  const fieldIndex = (field: Field): number => keys.findIndex((k) => FIELD_HEADERS[field].includes(k));
  const index = Object.fromEntries(
    (Object.keys(FIELD_HEADERS) as Field[]).map((f) => [f, fieldIndex(f)]),
  ) as Record<Field, number>;
  const numberColumns: { index: number; type: NumberType }[] = [];
  keys.forEach((k, i) => {
    for (const [type, names] of Object.entries(NUMBER_HEADERS) as [NumberType, string[]][]) {
      if (names.includes(k)) numberColumns.push({ index: i, type });
    }
  });
  const known =
    [index.firstName, index.lastName, index.company].some((i) => i >= 0) || numberColumns.length > 0;
  if (!known) {
    throw new InvalidFileError(
      'The CSV has none of the Outlook columns (First Name, Last Name, Company, Mobile Phone, … or Nome, Cognome, …)',
    );
  }
  return rows.map((cells, i): ImportCandidate => {
    const cell = (at: number): string => (at >= 0 ? (cells[at] ?? '') : '');
    const categories = cell(index.categories)
      .split(/;|:::/)
      .map((s) => s.trim())
      .filter((s) => s && s !== '* myContacts' && s !== '* starred');
    const sensitivity = headerKey(cell(index.sensitivity));
    const candidate: ImportCandidate = {
      row: i + 1,
      firstName: [cell(index.firstName), cell(index.middleName)].filter((s) => s).join(' '),
      lastName: cell(index.lastName),
      company: cell(index.company),
      notes: cell(index.notes),
      externalId: cell(index.externalId) || undefined,
      categoryNames: categories,
      personal: sensitivity === 'private' || sensitivity === 'privato' ? true : undefined,
      numbers: numberColumns.flatMap(({ index: at, type }) => {
        const number = cell(at);
        return number ? [{ type, number }] : [];
      }),
    };
    return candidate;
  });
}

/** Export columns: each number type's slots, in Outlook's own header names. */
const EXPORT_SLOTS: Record<NumberType, string[]> = {
  mobile: ['Mobile Phone'],
  work: ['Business Phone', 'Business Phone 2', 'Company Main Phone'],
  home: ['Home Phone', 'Home Phone 2'],
  fax: ['Business Fax', 'Home Fax', 'Other Fax'],
  other: ['Other Phone', 'Primary Phone', 'Car Phone'],
};
const EXPORT_HEADER = [
  'First Name',
  'Last Name',
  'Company',
  ...Object.values(EXPORT_SLOTS).flat(),
  'Notes',
  'Categories',
  'Sensitivity',
  'External ID',
];

/**
 * Outlook's CSV (its English headers), UTF-8 with a BOM so that Excel reads the accents. Outlook has no speed
 * dial, and a type has as many numbers as it has columns: the rest go to the "other" columns, then are dropped.
 */
export function writeOutlookCsv(contacts: readonly ExportContact[]): string {
  const rows = contacts.map((c) => {
    const slots = new Map<string, string>();
    const overflow: string[] = [];
    for (const n of c.numbers) {
      const free = EXPORT_SLOTS[n.type].find((s) => !slots.has(s));
      if (free) slots.set(free, n.number);
      else overflow.push(n.number);
    }
    for (const number of overflow) {
      const free = EXPORT_SLOTS.other.find((s) => !slots.has(s));
      if (free) slots.set(free, number);
    }
    const byHeader: Record<string, string> = {
      'First Name': c.firstName,
      'Last Name': c.lastName,
      Company: c.company,
      Notes: c.notes,
      Categories: c.categoryName,
      Sensitivity: c.personal ? 'Private' : 'Normal',
      'External ID': c.key,
      ...Object.fromEntries(slots),
    };
    return EXPORT_HEADER.map((h) => escapeCell(byHeader[h] ?? ''));
  });
  return '\ufeff' + stringify([EXPORT_HEADER, ...rows], { record_delimiter: '\r\n' });
}
