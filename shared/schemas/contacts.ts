import { z } from 'zod';
import { objectIdSchema, type Page } from './directory.js';

/**
 * The Rubrica (manual 2.2.3 "Contact"): the PBX's shared address book of contacts and categories, its import and
 * export, and the phone's search (2.1 "Click to call"). Routes:
 *
 * - GET    /api/contacts?q=&category=&personal=&sort=&page=&pageSize=   → ContactPage
 * - POST   /api/contacts                    ContactInput                → 201 Contact
 * - GET    /api/contacts/:id                                            → Contact
 * - PATCH  /api/contacts/:id                ContactPatch                → Contact
 * - DELETE /api/contacts/:id                                            → 204
 * - POST   /api/contacts/delete             BulkIds                     → BulkDeleteResult (all or nothing)
 * - PUT    /api/contacts/:id/image          raw image/jpeg|png|webp|gif → Contact
 * - GET    /api/contacts/:id/image                                      → image/jpeg (bearer token: fetch it as a blob)
 * - DELETE /api/contacts/:id/image                                      → Contact
 * - POST   /api/contacts/import?format=&dryRun=&category=&personal=  the file as the body → ImportReport
 * - GET    /api/contacts/export?format=&ids=  (no ids: everything the list query would show) → the file
 * - GET    /api/contacts/sample.csv                                     → our CSV format, with two sample rows
 * - GET    /api/categories?q=&page=&pageSize=                           → CategoryPage (with "No category")
 * - POST   /api/categories                  CategoryInput (admins)      → 201 Category
 * - GET    /api/categories/:id                                          → Category
 * - PATCH  /api/categories/:id              CategoryPatch               → Category
 * - DELETE /api/categories/:id                                          → CategoryDeleteResult
 * - POST   /api/categories/delete           BulkIds                     → CategoryDeleteResult (all or nothing)
 * - GET    /api/search?q=&category=&limit=                              → SearchResult
 *
 * Rights: directory admins manage everything. A category without `public` shows its contacts to its members only;
 * members with `editContacts` create, change and delete its contacts; members with `editCategories` change the
 * category itself (name, flag, memberships) and delete it. Contacts of "No category" are seen by everyone and
 * changed by admins only. A personal contact is seen and changed by its owner only (admins included: it is
 * private). A contact the caller may not see is a 404, one they may see but not change a 403.
 */

/** The id that stands for the built-in "No category" in filters, in `categoryId` of inputs, and in lists. */
export const NO_CATEGORY_ID = 'none';
/** The `category` filter of /api/search that keeps only directory users ("Utenti interni"). */
export const DIRECTORY_FILTER_ID = 'directory';

export const NUMBER_TYPES = ['mobile', 'work', 'home', 'fax', 'other'] as const;
export type NumberType = (typeof NUMBER_TYPES)[number];

const noControl = (s: string): boolean => !/[\p{Cc}]/u.test(s);
const line = (max: number) =>
  z.string().trim().max(max).refine(noControl, 'must not contain control characters');

/** A number as a user types it: digits, spaces, and the usual punctuation of phone numbers. */
export const phoneNumberSchema = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^\+?[\d\s().\-/]*\d[\d\s().\-/]*$/, 'must be a phone number (digits, spaces, + ( ) - . /)');

/** Speed dial ("Selezione veloce"): 1 to 6 digits, unique among the shared contacts or among one's personal ones. */
export const speedDialSchema = z
  .string()
  .trim()
  .regex(/^\d{1,6}$/, 'must be 1 to 6 digits');

/** One row of "NUMERI" as sent: TIPO, NUMERO, SELEZIONE VELOCE. */
export const contactNumberInputSchema = z.strictObject({
  type: z.enum(NUMBER_TYPES),
  number: phoneNumberSchema,
  speedDial: speedDialSchema.optional(),
});
export type ContactNumberInput = z.infer<typeof contactNumberInputSchema>;

/** One row of "NUMERI" as stored and shown. */
export interface ContactNumber {
  type: NumberType;
  /** What the user typed, for display. */
  number: string;
  /** E.164 when the number parses for its country (or the server's default country), else its digits. */
  normalized: string;
  speedDial?: string;
}

/** A category id in an input: an id, or NO_CATEGORY_ID / null for "No category". */
export const categoryRefSchema = z.union([objectIdSchema, z.literal(NO_CATEGORY_ID), z.null()]);

const contactFields = {
  lastName: line(100).default(''),
  firstName: line(100).default(''),
  company: line(200).default(''),
  notes: z.string().max(5_000).default(''),
  externalId: line(200).optional(),
  personal: z.boolean().default(false),
  categoryId: categoryRefSchema.default(null),
  numbers: z.array(contactNumberInputSchema).max(20).default([]),
};

const hasAName = (c: { lastName?: string; firstName?: string; company?: string }): boolean =>
  [c.lastName, c.firstName, c.company].some((v) => v !== undefined && v.length > 0);

/** POST /api/contacts: at least one of Cognome, Nome, Società. */
export const contactInputSchema = z
  .strictObject(contactFields)
  .refine(hasAName, { message: 'a last name, first name or company is required', path: ['lastName'] });
export type ContactInput = z.infer<typeof contactInputSchema>;

/**
 * PATCH /api/contacts/:id: only the fields given change; `numbers` is replaced as a whole; `externalId: null`
 * removes it. Turning `personal` on makes the caller the owner.
 */
export const contactPatchSchema = z
  .strictObject({
    lastName: line(100),
    firstName: line(100),
    company: line(200),
    notes: z.string().max(5_000),
    externalId: line(200).nullable(),
    personal: z.boolean(),
    categoryId: categoryRefSchema,
    numbers: z.array(contactNumberInputSchema).max(20),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required');
export type ContactPatch = z.infer<typeof contactPatchSchema>;

export interface Contact {
  id: string;
  lastName: string;
  firstName: string;
  company: string;
  notes: string;
  externalId?: string;
  /** "Contatto personale": only `ownerId` sees it. */
  personal: boolean;
  ownerId?: string;
  /** null: "No category". */
  categoryId: string | null;
  /** The category's name; "No category" for none (the UI translates it). */
  categoryName: string;
  numbers: ContactNumber[];
  /** GET this path (with the bearer token) for the uploaded image; absent without one. */
  imageUrl?: string;
  /** A photo URI from an imported vCard, kept as a link and never fetched by the server. */
  photoUri?: string;
  /** Whether the caller may change or delete it. */
  canEdit: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Sortable columns: COGNOME, NOME, SOCIETÀ, CONTATTO PERSONALE, CATEGORIA; a leading `-` sorts descending. */
export const CONTACT_SORT_FIELDS = ['lastName', 'firstName', 'company', 'personal', 'category'] as const;
export const CONTACT_SORTS = [
  'lastName',
  'firstName',
  'company',
  'personal',
  'category',
  '-lastName',
  '-firstName',
  '-company',
  '-personal',
  '-category',
] as const;
export type ContactSort = (typeof CONTACT_SORTS)[number];
export const contactSortSchema = z.enum(CONTACT_SORTS);

const booleanFlag = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/**
 * GET /api/contacts. `q`: every word must start a word of the names or company (accents and case ignored), or
 * the digits must occur in a number ("3427493700" finds "+39 342 749 3700"). `category`: an id or "none".
 * `personal`: 1 only personal contacts, 0 only shared ones.
 */
export const contactListQuerySchema = z.strictObject({
  q: z.string().trim().max(100).default(''),
  category: z.union([objectIdSchema, z.literal(NO_CATEGORY_ID)]).optional(),
  personal: booleanFlag.optional(),
  sort: contactSortSchema.default('lastName'),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});
export type ContactListQuery = z.infer<typeof contactListQuerySchema>;
export type ContactPage = Page<Contact>;

/** POST /api/contacts/delete and /api/categories/delete. */
export const bulkIdsSchema = z.strictObject({
  ids: z
    .array(objectIdSchema)
    .min(1)
    .max(1_000)
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an id'),
});
export type BulkIds = z.infer<typeof bulkIdsSchema>;

/** Bulk delete is all or nothing: one id the caller may not delete (or does not see) refuses the whole request. */
export interface BulkDeleteResult {
  deleted: number;
}

// ---- Categories ----------------------------------------------------------------------------------------------

/** One row of "CONTACT CATEGORY MEMBERSHIPS". */
export const membershipInputSchema = z.strictObject({
  userId: objectIdSchema,
  editContacts: z.boolean().default(false),
  editCategories: z.boolean().default(false),
});
export type MembershipInput = z.infer<typeof membershipInputSchema>;

export interface Membership {
  userId: string;
  editContacts: boolean;
  editCategories: boolean;
  /** The user as the directory shows them ("Cognome Nome"), and their extension. */
  displayName: string;
  extension: string;
}

const membershipsSchema = z
  .array(membershipInputSchema)
  .max(500)
  .refine((m) => new Set(m.map((x) => x.userId)).size === m.length, 'must not list a user twice');

const categoryName = line(100).pipe(z.string().min(1, 'is required'));

/** POST /api/categories (admins). */
export const categoryInputSchema = z.strictObject({
  name: categoryName,
  /** "Chiunque può visualizzare i contatti di questa categoria". */
  public: z.boolean().default(false),
  memberships: membershipsSchema.default([]),
});
export type CategoryInput = z.infer<typeof categoryInputSchema>;

/** PATCH /api/categories/:id: only the fields given change; `memberships` is replaced as a whole. */
export const categoryPatchSchema = z
  .strictObject({ name: categoryName, public: z.boolean(), memberships: membershipsSchema })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required');
export type CategoryPatch = z.infer<typeof categoryPatchSchema>;

export interface Category {
  /** NO_CATEGORY_ID for the built-in "No category". */
  id: string;
  name: string;
  builtIn: boolean;
  public: boolean;
  /** Shown to admins and to members with editCategories; empty otherwise. */
  memberships: Membership[];
  /** Shared contacts in it: what a delete moves to "No category" (say so in the confirmation). */
  contactCount: number;
  /** Whether the caller may change or delete the category itself. */
  canEdit: boolean;
  /** Whether the caller may add and change its contacts. */
  canEditContacts: boolean;
}

/** GET /api/categories: the categories the caller sees (public ones, their own; all for admins). */
export const categoryListQuerySchema = z.strictObject({
  q: z.string().trim().max(100).default(''),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(100),
});
export type CategoryListQuery = z.infer<typeof categoryListQuerySchema>;
export type CategoryPage = Page<Category>;

/** A deleted category's contacts are never deleted: they move to "No category". */
export interface CategoryDeleteResult {
  deleted: number;
  movedContacts: number;
}

export const idParamsSchema = z.strictObject({ id: objectIdSchema });

// ---- Import and export ---------------------------------------------------------------------------------------

/**
 * outlook: the CSV Outlook and Google ("Outlook CSV") export, English or Italian headers, `,` `;` or tab, UTF-8
 * (with or without BOM) or Windows-1252. vcard: vCard 2.1, 3.0 or 4.0, one or many cards. csv: our own format
 * (CONTACT_CSV_COLUMNS, the sample at /api/contacts/sample.csv).
 */
export const CONTACT_FILE_FORMATS = ['outlook', 'vcard', 'csv'] as const;
export type ContactFileFormat = (typeof CONTACT_FILE_FORMATS)[number];

/**
 * POST /api/contacts/import. The body is the file as sent (any Content-Type among text/csv, text/vcard,
 * text/x-vcard, text/directory, text/plain, application/octet-stream; the charset is detected). `category` and
 * `personal` apply to rows that do not say their own category (a vCard CATEGORIES, a CSV category column).
 */
export const importQuerySchema = z.strictObject({
  format: z.enum(CONTACT_FILE_FORMATS),
  dryRun: booleanFlag.default(false),
  category: z.union([objectIdSchema, z.literal(NO_CATEGORY_ID)]).optional(),
  personal: booleanFlag.default(false),
});
export type ImportQuery = z.infer<typeof importQuerySchema>;

export const IMPORT_ACTIONS = ['created', 'updated', 'skipped'] as const;

/** One row (CSV: 1-based, header excluded) or card (vCard: 1-based) of an import. */
export interface ImportRow {
  row: number;
  action: (typeof IMPORT_ACTIONS)[number];
  /** Why it was skipped, or a warning on a created/updated row (a photo URI kept as a link, a number left raw). */
  reason?: string;
  /** The contact created or updated (absent in a dry run's "created"). */
  contactId?: string;
  /** "Cognome Nome" or the company, for the preview. */
  name?: string;
  /** The contact as it would be saved, for the dry run's preview. */
  contact?: ContactInput;
}

/**
 * The whole file is parsed and every row validated before anything is written; a file that cannot be read at all
 * (wrong encoding, broken vCard, garbage) is a 400 INVALID_FILE and writes nothing. A dry run returns the same
 * report and writes nothing.
 */
export interface ImportReport {
  format: ContactFileFormat;
  dryRun: boolean;
  created: number;
  updated: number;
  skipped: number;
  rows: ImportRow[];
}

/** The most ids an export's URL carries: the whole URL must stay under Node's 16 KiB of request head. */
export const EXPORT_MAX_IDS = 200;

/**
 * GET /api/contacts/export: `ids` comma-separated (at most EXPORT_MAX_IDS); without it, the list filters (q,
 * category, personal).
 */
export const exportQuerySchema = z.strictObject({
  format: z.enum(CONTACT_FILE_FORMATS),
  ids: z
    .string()
    .max(25 * EXPORT_MAX_IDS)
    .regex(/^[0-9a-fA-F]{24}(,[0-9a-fA-F]{24})*$/, 'must be ids separated by commas')
    .transform((s) => s.split(','))
    .pipe(z.array(objectIdSchema).max(EXPORT_MAX_IDS))
    .optional(),
  q: z.string().trim().max(100).default(''),
  category: z.union([objectIdSchema, z.literal(NO_CATEGORY_ID)]).optional(),
  personal: booleanFlag.optional(),
});
export type ExportQuery = z.infer<typeof exportQuerySchema>;

/**
 * Our own CSV format (CARICATI CONTATTI DA FILE CSV / SCARICA ESEMPIO CSV): UTF-8, comma, these headers, then any
 * number of `typeN,numberN,speedDialN` groups (N = 1, 2, …). `category` is a category name ("" = No category);
 * `personal` is 1 or 0; `type` one of NUMBER_TYPES. `externalId` matches an existing contact (its Id esterno, or
 * its id) to update it.
 */
export const CONTACT_CSV_COLUMNS = [
  'externalId',
  'lastName',
  'firstName',
  'company',
  'category',
  'personal',
  'notes',
] as const;

// ---- Search (the phone's Click to Call) ----------------------------------------------------------------------

/**
 * GET /api/search?q=&category=: directory users and the contacts the caller sees. `q` matches names, company,
 * extension and numbers (in any format); `category` is a category id, "none", or "directory" (users only).
 */
export const phoneSearchQuerySchema = z.strictObject({
  q: z.string().trim().max(100).default(''),
  category: z.union([objectIdSchema, z.literal(NO_CATEGORY_ID), z.literal(DIRECTORY_FILTER_ID)]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type PhoneSearchQuery = z.infer<typeof phoneSearchQuerySchema>;

/** One row of the Click to Call table: NOME, NUMERO, TIPO, CATEGORIA. A contact with two numbers is two rows. */
export interface SearchHit {
  kind: 'user' | 'contact';
  /** The user's or the contact's id. */
  id: string;
  /** "Cognome Nome" (or the company of a contact without a name). */
  name: string;
  company?: string;
  /** As shown (a user's extension; a contact's number as typed). */
  number: string;
  /** What to dial: the extension, or the normalized number. */
  dial: string;
  /** "interno" for a directory user's extension; a number type for a contact. */
  type: 'interno' | NumberType;
  /** null for directory users (the UI shows "Utenti interni") and for "No category". */
  categoryId: string | null;
  categoryName: string | null;
  personal?: boolean;
}

export interface SearchResult {
  items: SearchHit[];
  /** More rows matched than `limit`. */
  truncated: boolean;
}
