import type { ContactFileFormat, ExportQuery } from '../../shared/schemas/contacts.js';
import type { Caller } from './ContactAccess.js';
import type { ContactService } from './ContactService.js';
import { writeContactCsv } from './formats/contactCsv.js';
import type { ExportContact } from './formats/ImportCandidate.js';
import { writeOutlookCsv } from './formats/outlookCsv.js';
import { writeVcards } from './formats/vcard.js';

export interface ExportFile {
  body: string;
  contentType: string;
  filename: string;
}

const FILES: Record<ContactFileFormat, { contentType: string; filename: string }> = {
  vcard: { contentType: 'text/vcard; charset=utf-8', filename: 'contatti.vcf' },
  outlook: { contentType: 'text/csv; charset=utf-8', filename: 'contatti-outlook.csv' },
  csv: { contentType: 'text/csv; charset=utf-8', filename: 'contatti.csv' },
};

/** The selected (or all visible) contacts in one of the three formats; each re-imports to the same contacts. */
export async function exportContacts(
  contacts: ContactService,
  caller: Caller,
  query: ExportQuery,
): Promise<ExportFile> {
  const { docs, names } = await contacts.forExport(caller, query);
  const images =
    query.format === 'vcard'
      ? await contacts.imagesOf(docs.filter((d) => d.imageVersion > 0).map((d) => d._id))
      : new Map<string, Buffer>();
  const rows: ExportContact[] = docs.map((d) => ({
    key: d.externalId ?? String(d._id),
    lastName: d.lastName,
    firstName: d.firstName,
    company: d.company,
    notes: d.notes,
    personal: d.personal,
    categoryName: d.categoryId === 'none' ? '' : (names.get(d.categoryId) ?? ''),
    numbers: d.numbers.map((n) => ({ type: n.type, number: n.number, speedDial: n.speedDial })),
    photoJpeg: images.get(String(d._id)),
    photoUri: d.photoUri,
  }));
  const body =
    query.format === 'vcard'
      ? writeVcards(rows)
      : query.format === 'outlook'
        ? writeOutlookCsv(rows)
        : writeContactCsv(rows);
  return { body, ...FILES[query.format] };
}
