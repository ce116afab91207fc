import type { NumberType } from '../../../shared/schemas/contacts.js';

/** One row or card of an import file, read but not yet validated. Every format yields these. */
export interface ImportCandidate {
  /** 1-based: CSV data row (the header is not counted) or vCard card. */
  row: number;
  lastName: string;
  firstName: string;
  company: string;
  notes: string;
  externalId?: string | undefined;
  /** Said by the row itself (our CSV's `personal`, a vCard CLASS:PRIVATE, Outlook's Sensitivity). */
  personal?: boolean | undefined;
  /** Said by the row itself (a CATEGORIES, a category column); matched by name, the first known one wins. */
  categoryNames?: string[] | undefined;
  /** `type` as the file says it; validated with the rest. */
  numbers: { type: string; number: string; speedDial?: string | undefined }[];
  photo?: { data: Buffer } | { uri: string } | undefined;
  /** A problem found while reading the row: it is skipped with this reason. */
  problem?: string | undefined;
}

/** A contact as the exporters write it. */
export interface ExportContact {
  /** The Id esterno, or else the contact's id: re-importing the export then updates instead of duplicating. */
  key: string;
  lastName: string;
  firstName: string;
  company: string;
  notes: string;
  personal: boolean;
  /** "" for No category. */
  categoryName: string;
  numbers: { type: NumberType; number: string; speedDial?: string | undefined }[];
  photoJpeg?: Buffer | undefined;
  photoUri?: string | undefined;
}
