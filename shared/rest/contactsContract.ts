/**
 * The Rubrica's part of the REST contract (contract.ts puts every area together): contacts, categories and the
 * phone's search.
 */
import { z } from 'zod';
import {
  bulkIdsSchema,
  categoryInputSchema,
  categoryListQuerySchema,
  categoryPatchSchema,
  contactInputSchema,
  contactListQuerySchema,
  contactPatchSchema,
  exportQuerySchema,
  idParamsSchema,
  importQuerySchema,
  NO_CATEGORY_ID,
  phoneSearchQuerySchema,
} from '../schemas/contacts.js';
import { objectIdSchema } from '../schemas/directory.js';
import {
  bulkDeleteResultSchema,
  categoryDeleteResultSchema,
  categoryPageSchema,
  categorySchema,
  contactPageSchema,
  contactSchema,
  importReportSchema,
  searchResultSchema,
} from './contactViews.js';
import { route } from './route.js';
import { BY_ID, empty, JSON_BODY, USER } from './statuses.js';

// The Rubrica. Rights are per contact and per category: a contact or category the caller does not see is a 404,
// one they see but may not change a 403. Speed dials and category names are unique (409).

/** The types an import file may come as: browsers label CSV and vCard files in many ways. */
export const CONTACT_IMPORT_TYPES = [
  'text/csv',
  'text/comma-separated-values',
  'text/tab-separated-values',
  'text/vcard',
  'text/x-vcard',
  'text/directory',
  'text/plain',
  'application/csv',
  'application/vnd.ms-excel',
  'application/octet-stream',
] as const;
export const CONTACT_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;

/** A category's id, or "none" for the built-in "No category" (which can be read, never deleted). */
const categoryRefParams = z.strictObject({ id: z.union([objectIdSchema, z.literal(NO_CATEGORY_ID)]) });

export const contactRoutes = {
  list: route({
    method: 'get',
    mount: '/api/contacts',
    path: '/',
    summary: 'The contacts the caller sees, filtered, sorted and paged',
    auth: 'user',
    query: contactListQuerySchema,
    success: { 200: contactPageSchema },
    errors: [...USER, 400],
  }),
  create: route({
    method: 'post',
    mount: '/api/contacts',
    path: '/',
    summary: 'Creates a contact (shared in a category the caller edits, or personal)',
    auth: 'user',
    body: contactInputSchema,
    success: { 201: contactSchema },
    errors: [...USER, ...JSON_BODY, 409],
  }),
  bulkDelete: route({
    method: 'post',
    mount: '/api/contacts',
    path: '/delete',
    summary: 'Deletes the selected contacts, all or none',
    auth: 'user',
    body: bulkIdsSchema,
    success: { 200: bulkDeleteResultSchema },
    errors: [...USER, ...JSON_BODY, 404],
  }),
  sampleCsv: route({
    method: 'get',
    mount: '/api/contacts',
    path: '/sample.csv',
    summary: 'Our CSV format, with two sample rows',
    auth: 'user',
    success: { 200: { contentType: 'text/csv', description: 'A CSV file (UTF-8)' } },
    errors: USER,
  }),
  export: route({
    method: 'get',
    mount: '/api/contacts',
    path: '/export',
    summary:
      'The selected contacts (`ids`), or those the list filters show, as Outlook CSV, vCard or our CSV',
    auth: 'user',
    query: exportQuerySchema,
    success: {
      200: { contentType: ['text/csv', 'text/vcard'], description: 'A CSV or vCard file (UTF-8)' },
    },
    errors: [...USER, 400, 404],
  }),
  import: route({
    method: 'post',
    mount: '/api/contacts',
    path: '/import',
    summary: 'Imports a file (`dryRun=1`: only the preview); all rows are checked before any is written',
    auth: 'user',
    query: importQuerySchema,
    bodyType: 'binary',
    contentTypes: CONTACT_IMPORT_TYPES,
    success: { 200: importReportSchema },
    errors: [...USER, 400, 409, 413, 415],
  }),
  get: route({
    method: 'get',
    mount: '/api/contacts',
    path: '/:id',
    summary: 'One contact the caller sees',
    auth: 'user',
    params: idParamsSchema,
    success: { 200: contactSchema },
    errors: [...USER, ...BY_ID],
  }),
  update: route({
    method: 'patch',
    mount: '/api/contacts',
    path: '/:id',
    summary: 'Changes the fields given; `numbers` is replaced as a whole',
    auth: 'user',
    params: idParamsSchema,
    body: contactPatchSchema,
    success: { 200: contactSchema },
    errors: [...USER, ...JSON_BODY, 404, 409],
  }),
  delete: route({
    method: 'delete',
    mount: '/api/contacts',
    path: '/:id',
    summary: 'Deletes a contact',
    auth: 'user',
    params: idParamsSchema,
    success: { 204: empty },
    errors: [...USER, ...BY_ID],
  }),
  putImage: route({
    method: 'put',
    mount: '/api/contacts',
    path: '/:id/image',
    summary: "Sets the contact's image: the raw bytes are the body (stored scaled down, as a JPEG)",
    auth: 'user',
    params: idParamsSchema,
    bodyType: 'binary',
    contentTypes: CONTACT_IMAGE_TYPES,
    success: { 200: contactSchema },
    errors: [...USER, ...BY_ID, 413, 415],
  }),
  image: route({
    method: 'get',
    mount: '/api/contacts',
    path: '/:id/image',
    summary: "The contact's image (fetch it with the bearer token, as a blob)",
    auth: 'user',
    params: idParamsSchema,
    success: { 200: { contentType: 'image/jpeg', description: 'A JPEG image' } },
    errors: [...USER, ...BY_ID],
  }),
  deleteImage: route({
    method: 'delete',
    mount: '/api/contacts',
    path: '/:id/image',
    summary: "Removes the contact's image",
    auth: 'user',
    params: idParamsSchema,
    success: { 200: contactSchema },
    errors: [...USER, ...BY_ID],
  }),
};

export const categoryRoutes = {
  list: route({
    method: 'get',
    mount: '/api/categories',
    path: '/',
    summary: 'The categories the caller sees, "No category" included',
    auth: 'user',
    query: categoryListQuerySchema,
    success: { 200: categoryPageSchema },
    errors: [...USER, 400],
  }),
  create: route({
    method: 'post',
    mount: '/api/categories',
    path: '/',
    summary: 'Creates a category (administrators)',
    auth: 'user',
    body: categoryInputSchema,
    success: { 201: categorySchema },
    errors: [...USER, ...JSON_BODY, 409],
  }),
  bulkDelete: route({
    method: 'post',
    mount: '/api/categories',
    path: '/delete',
    summary: 'Deletes the selected categories, all or none; their contacts move to "No category"',
    auth: 'user',
    body: bulkIdsSchema,
    success: { 200: categoryDeleteResultSchema },
    errors: [...USER, ...JSON_BODY, 404],
  }),
  get: route({
    method: 'get',
    mount: '/api/categories',
    path: '/:id',
    summary: 'One category the caller sees (`none`: "No category")',
    auth: 'user',
    params: categoryRefParams,
    success: { 200: categorySchema },
    errors: [...USER, ...BY_ID],
  }),
  update: route({
    method: 'patch',
    mount: '/api/categories',
    path: '/:id',
    summary: 'Changes the fields given; `memberships` is replaced as a whole',
    auth: 'user',
    params: idParamsSchema,
    body: categoryPatchSchema,
    success: { 200: categorySchema },
    errors: [...USER, ...JSON_BODY, 404, 409],
  }),
  delete: route({
    method: 'delete',
    mount: '/api/categories',
    path: '/:id',
    summary: 'Deletes a category; its contacts move to "No category"',
    auth: 'user',
    params: categoryRefParams,
    success: { 200: categoryDeleteResultSchema },
    errors: [...USER, ...BY_ID],
  }),
};

export const phoneSearchRoutes = {
  search: route({
    method: 'get',
    mount: '/api/search',
    path: '/',
    summary: "The phone's search: directory users and the contacts the caller sees, one row per number",
    auth: 'user',
    query: phoneSearchQuerySchema,
    success: { 200: searchResultSchema },
    errors: [...USER, 400],
  }),
};
