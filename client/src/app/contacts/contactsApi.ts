/** The Rubrica's REST calls (shared/schemas/contacts.ts), over the app's authenticated helpers. */
import type {
  BulkDeleteResult,
  Category,
  CategoryDeleteResult,
  CategoryInput,
  CategoryPage,
  CategoryPatch,
  Contact,
  ContactFileFormat,
  ContactInput,
  ContactPage,
  ContactPatch,
  ContactSort,
  ImportReport,
} from '../../../../shared/schemas/contacts.js';
import { api, apiBlob, ApiError, apiUpload } from '../api/api.js';

export type {
  Category,
  Contact,
  ContactFileFormat,
  ContactInput,
  ImportReport,
  ImportRow,
  Membership,
  NumberType,
} from '../../../../shared/schemas/contacts.js';
import type {
  EXPORT_MAX_IDS as SharedExportMaxIds,
  NO_CATEGORY_ID as SharedNoCategoryId,
} from '../../../../shared/schemas/contacts.js';

/**
 * The contract's constants, restated: importing them as values would bring zod (the schemas' module) into the
 * app's bundle. `typeof` keeps this one equal to the contract's; NUMBER_TYPE_KEY in ContactForm is exhaustive.
 */
export const NO_CATEGORY_ID: typeof SharedNoCategoryId = 'none';
/** The most ids one export takes (they travel in the URL). */
export const EXPORT_MAX_IDS: typeof SharedExportMaxIds = 200;

/** What the list shows: the search, the FILTRO and the sort, as GET /api/contacts and the export take them. */
export interface ContactFilter {
  q: string;
  /** A category id, "none", or undefined for all. */
  category?: string | undefined;
  /** true: only personal contacts; false: only shared ones. */
  personal?: boolean | undefined;
}

function filterParams(f: ContactFilter): URLSearchParams {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.category) p.set('category', f.category);
  if (f.personal !== undefined) p.set('personal', f.personal ? '1' : '0');
  return p;
}

export function listContacts(
  f: ContactFilter & { sort: ContactSort; page: number; pageSize: number },
): Promise<ContactPage> {
  const p = filterParams(f);
  p.set('sort', f.sort);
  p.set('page', String(f.page));
  p.set('pageSize', String(f.pageSize));
  return api<ContactPage>('GET', `/api/contacts?${p.toString()}`);
}

export const getContact = (id: string): Promise<Contact> => api<Contact>('GET', `/api/contacts/${id}`);
export const createContact = (body: ContactInput): Promise<Contact> =>
  api<Contact>('POST', '/api/contacts', body);
export const updateContact = (id: string, body: ContactPatch): Promise<Contact> =>
  api<Contact>('PATCH', `/api/contacts/${id}`, body);
export const deleteContacts = (ids: string[]): Promise<BulkDeleteResult> =>
  api<BulkDeleteResult>('POST', '/api/contacts/delete', { ids });
export const contactImage = (id: string): Promise<Blob> => apiBlob(`/api/contacts/${id}/image`);
export const deleteContactImage = (id: string): Promise<Contact> =>
  api<Contact>('DELETE', `/api/contacts/${id}/image`);

/** PUT the picked image as it is (the server checks its type and size and stores a resized webp). */
export const putContactImage = (id: string, file: Blob): Promise<Contact> =>
  apiUpload<Contact>(`/api/contacts/${id}/image`, file, 'PUT');

/** POST the file to the import: first with `dryRun` for the preview, then for real. */
export function importContacts(
  file: Blob,
  options: { format: ContactFileFormat; dryRun: boolean; category?: string | undefined; personal: boolean },
): Promise<ImportReport> {
  const p = new URLSearchParams({
    format: options.format,
    dryRun: options.dryRun ? '1' : '0',
    personal: options.personal ? '1' : '0',
  });
  if (options.category) p.set('category', options.category);
  // Browsers label these files in many ways (Windows: application/vnd.ms-excel): the format says what it is.
  const typed = new Blob([file], { type: options.format === 'vcard' ? 'text/vcard' : 'text/csv' });
  return apiUpload<ImportReport>(`/api/contacts/import?${p.toString()}`, typed);
}

/** The selection (`ids`) or, without it, everything the list's search and filter show. */
export function exportContacts(format: ContactFileFormat, ids: string[], f: ContactFilter): Promise<Blob> {
  const p = ids.length > 0 ? new URLSearchParams({ ids: ids.join(',') }) : filterParams(f);
  p.set('format', format);
  return apiBlob(`/api/contacts/export?${p.toString()}`);
}

export const sampleCsv = (): Promise<Blob> => apiBlob('/api/contacts/sample.csv');

export function listCategories(q = '', page = 1, pageSize = 200): Promise<CategoryPage> {
  const p = new URLSearchParams({ page: String(page), pageSize: String(pageSize) });
  if (q.trim()) p.set('q', q.trim());
  return api<CategoryPage>('GET', `/api/categories?${p.toString()}`);
}
export const getCategory = (id: string): Promise<Category> => api<Category>('GET', `/api/categories/${id}`);
export const createCategory = (body: CategoryInput): Promise<Category> =>
  api<Category>('POST', '/api/categories', body);
export const updateCategory = (id: string, body: CategoryPatch): Promise<Category> =>
  api<Category>('PATCH', `/api/categories/${id}`, body);
export const deleteCategories = (ids: string[]): Promise<CategoryDeleteResult> =>
  api<CategoryDeleteResult>('POST', '/api/categories/delete', { ids });

/** The server's `{ error: { code, message } }` as one line for the user: the message, with its code. */
export function errorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`;
  return fallback;
}

export const FILE_NAMES: Record<ContactFileFormat, string> = {
  vcard: 'contatti.vcf',
  outlook: 'contatti-outlook.csv',
  csv: 'contatti.csv',
};
