/**
 * Zod schemas of what the Rubrica routes answer (/api/contacts, /api/categories, /api/search). As in `views.ts`,
 * the interfaces in `shared/schemas/contacts.ts` stay the types the code uses and the checks at the bottom keep
 * each schema the same shape as its interface.
 */
import { z } from 'zod';
import {
  CONTACT_FILE_FORMATS,
  IMPORT_ACTIONS,
  NUMBER_TYPES,
  contactNumberInputSchema,
  type BulkDeleteResult,
  type Category,
  type CategoryDeleteResult,
  type CategoryPage,
  type Contact,
  type ContactInput,
  type ContactPage,
  type ImportReport,
  type SearchResult,
} from '../schemas/contacts.js';

const pageOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    pageSize: z.number().int(),
  });

export const contactNumberSchema = z.strictObject({
  type: z.enum(NUMBER_TYPES),
  number: z.string(),
  normalized: z.string(),
  speedDial: z.string().optional(),
});

export const contactSchema = z.strictObject({
  id: z.string(),
  lastName: z.string(),
  firstName: z.string(),
  company: z.string(),
  notes: z.string(),
  externalId: z.string().optional(),
  personal: z.boolean(),
  ownerId: z.string().optional(),
  categoryId: z.string().nullable(),
  categoryName: z.string(),
  numbers: z.array(contactNumberSchema),
  imageUrl: z.string().optional(),
  photoUri: z.string().optional(),
  canEdit: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const contactPageSchema = pageOf(contactSchema);

export const bulkDeleteResultSchema = z.strictObject({ deleted: z.number().int() });

export const categorySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  builtIn: z.boolean(),
  public: z.boolean(),
  memberships: z.array(
    z.strictObject({
      userId: z.string(),
      editContacts: z.boolean(),
      editCategories: z.boolean(),
      displayName: z.string(),
      extension: z.string(),
    }),
  ),
  contactCount: z.number().int(),
  canEdit: z.boolean(),
  canEditContacts: z.boolean(),
});

export const categoryPageSchema = pageOf(categorySchema);

export const categoryDeleteResultSchema = z.strictObject({
  deleted: z.number().int(),
  movedContacts: z.number().int(),
});

/** A dry run's preview: the contact as it would be saved (the input after its defaults). */
const importedContactSchema = z.strictObject({
  lastName: z.string(),
  firstName: z.string(),
  company: z.string(),
  notes: z.string(),
  externalId: z.string().optional(),
  personal: z.boolean(),
  categoryId: z.string().nullable(),
  numbers: z.array(contactNumberInputSchema),
});

export const importReportSchema = z.strictObject({
  format: z.enum(CONTACT_FILE_FORMATS),
  dryRun: z.boolean(),
  created: z.number().int(),
  updated: z.number().int(),
  skipped: z.number().int(),
  rows: z.array(
    z.strictObject({
      row: z.number().int(),
      action: z.enum(IMPORT_ACTIONS),
      reason: z.string().optional(),
      contactId: z.string().optional(),
      name: z.string().optional(),
      contact: importedContactSchema.optional(),
    }),
  ),
});

export const searchResultSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      kind: z.enum(['user', 'contact']),
      id: z.string(),
      name: z.string(),
      company: z.string().optional(),
      number: z.string(),
      dial: z.string(),
      type: z.enum(['interno', ...NUMBER_TYPES]),
      categoryId: z.string().nullable(),
      categoryName: z.string().nullable(),
      personal: z.boolean().optional(),
    }),
  ),
  truncated: z.boolean(),
});

// Compile-time: each schema and its interface accept the same values, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(_: T): void {}
same<Same<z.infer<typeof contactSchema>, Contact>>(true);
same<Same<z.infer<typeof contactPageSchema>, ContactPage>>(true);
same<Same<z.infer<typeof bulkDeleteResultSchema>, BulkDeleteResult>>(true);
same<Same<z.infer<typeof categorySchema>, Category>>(true);
same<Same<z.infer<typeof categoryPageSchema>, CategoryPage>>(true);
same<Same<z.infer<typeof categoryDeleteResultSchema>, CategoryDeleteResult>>(true);
same<Same<z.infer<typeof importReportSchema>, ImportReport>>(true);
same<Same<z.infer<typeof searchResultSchema>, SearchResult>>(true);
same<Same<z.infer<typeof importedContactSchema>, ContactInput>>(true);
