import express, { Router, type Request, type RequestHandler } from 'express';
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
  phoneSearchQuerySchema,
  NO_CATEGORY_ID,
} from '../../shared/schemas/contacts.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { FileTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
import type { CategoryService } from './CategoryService.js';
import { callerOf } from './ContactAccess.js';
import { exportContacts } from './contactExport.js';
import type { ContactImport } from './ContactImport.js';
import type { ContactService } from './ContactService.js';
import { sampleContactCsv } from './formats/contactCsv.js';
import type { PhoneSearch } from './PhoneSearch.js';

/** The types an import file may come as: browsers label CSV and vCard files in many ways. */
const IMPORT_TYPES = [
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
];
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];

export interface ContactsRouterOptions {
  contacts: ContactService;
  imports: ContactImport;
  body: Pick<BodyParsers, 'json'>;
  /** Import files larger than this are refused with 413 FILE_TOO_LARGE. */
  importMaxBytes: number;
  imageMaxBytes: number;
}

function idOf(req: Request): string {
  return parseInput(idParamsSchema, req.params, 'contact id').id;
}

/** /api/contacts: the Rubrica's contacts, their images, import and export. Every route is for directory users. */
export function contactsRouter(options: ContactsRouterOptions): Router {
  const { contacts, imports, body } = options;
  const router = Router();
  router.use(requireUser());

  router.get('/', async (req, res) => {
    res.json(
      await contacts.list(callerOf(userOf(res)), parseInput(contactListQuerySchema, req.query, 'query')),
    );
  });

  router.post('/', body.json, async (req, res) => {
    const input = parseInput(contactInputSchema, req.body, 'contact');
    res.status(201).json(await contacts.create(callerOf(userOf(res)), input));
  });

  router.post('/delete', body.json, async (req, res) => {
    const { ids } = parseInput(bulkIdsSchema, req.body, 'selection');
    res.json(await contacts.remove(callerOf(userOf(res)), ids));
  });

  router.get('/sample.csv', (_req, res) => {
    res.type('text/csv; charset=utf-8').attachment('esempio-contatti.csv').send(sampleContactCsv());
  });

  router.get('/export', async (req, res) => {
    const query = parseInput(exportQuerySchema, req.query, 'query');
    const file = await exportContacts(contacts, callerOf(userOf(res)), query);
    res.type(file.contentType).attachment(file.filename).send(file.body);
  });

  // The query is checked before the body is read: a bad format costs no upload.
  router.post(
    '/import',
    (req, _res, next) => {
      parseInput(importQuerySchema, req.query, 'query');
      next();
    },
    rawBody(IMPORT_TYPES, options.importMaxBytes),
    async (req, res) => {
      const query = parseInput(importQuerySchema, req.query, 'query');
      res.json(await imports.run(callerOf(userOf(res)), bodyBuffer(req), query));
    },
  );

  router.get('/:id', async (req, res) => {
    res.json(await contacts.get(callerOf(userOf(res)), idOf(req)));
  });

  router.patch('/:id', body.json, async (req, res) => {
    const id = idOf(req);
    res.json(
      await contacts.update(callerOf(userOf(res)), id, parseInput(contactPatchSchema, req.body, 'changes')),
    );
  });

  router.delete('/:id', async (req, res) => {
    await contacts.remove(callerOf(userOf(res)), [idOf(req)]);
    res.status(204).end();
  });

  router.put('/:id/image', rawBody(IMAGE_TYPES, options.imageMaxBytes), async (req, res) => {
    const id = idOf(req);
    res.json(await contacts.putImage(callerOf(userOf(res)), id, bodyBuffer(req)));
  });

  router.get('/:id/image', async (req, res) => {
    const image = await contacts.getImage(callerOf(userOf(res)), idOf(req));
    // The URL carries the image's version (?v=): a new upload is a new URL.
    res.type(image.contentType).set('Cache-Control', 'private, max-age=86400').send(image.data);
  });

  router.delete('/:id/image', async (req, res) => {
    res.json(await contacts.deleteImage(callerOf(userOf(res)), idOf(req)));
  });

  return router;
}

/** /api/categories: the contact categories and their memberships. */
export function categoriesRouter(categories: CategoryService, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());
  const categoryId = (req: Request): string =>
    req.params.id === NO_CATEGORY_ID
      ? NO_CATEGORY_ID
      : parseInput(idParamsSchema, req.params, 'category id').id;

  router.get('/', async (req, res) => {
    res.json(
      await categories.list(callerOf(userOf(res)), parseInput(categoryListQuerySchema, req.query, 'query')),
    );
  });

  router.post('/', body.json, async (req, res) => {
    const input = parseInput(categoryInputSchema, req.body, 'category');
    res.status(201).json(await categories.create(callerOf(userOf(res)), input));
  });

  router.post('/delete', body.json, async (req, res) => {
    const { ids } = parseInput(bulkIdsSchema, req.body, 'selection');
    res.json(await categories.remove(callerOf(userOf(res)), ids));
  });

  router.get('/:id', async (req, res) => {
    res.json(await categories.get(callerOf(userOf(res)), categoryId(req)));
  });

  router.patch('/:id', body.json, async (req, res) => {
    const id = parseInput(idParamsSchema, req.params, 'category id').id;
    res.json(
      await categories.update(
        callerOf(userOf(res)),
        id,
        parseInput(categoryPatchSchema, req.body, 'changes'),
      ),
    );
  });

  router.delete('/:id', async (req, res) => {
    res.json(await categories.remove(callerOf(userOf(res)), [categoryId(req)]));
  });

  return router;
}

/** /api/search: the phone's search over directory users and visible contacts. */
export function phoneSearchRouter(search: PhoneSearch): Router {
  const router = Router();
  router.get('/', requireUser(), async (req, res) => {
    res.json(
      await search.search(callerOf(userOf(res)), parseInput(phoneSearchQuerySchema, req.query, 'query')),
    );
  });
  return router;
}

/**
 * A raw body of one of `types`: another type is 415 before a byte is read, a body over `limit` is 413
 * FILE_TOO_LARGE (early from Content-Length, or while reading one that has none).
 */
function rawBody(types: string[], limit: number): RequestHandler {
  const parse = express.raw({ type: () => true, limit });
  return (req, res, next) => {
    if (req.headers['content-length'] !== '0' && req.is(types) === false) {
      next(new UnsupportedMediaTypeError(`Send the file as ${types.join(', ')}`));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      next(new FileTooLargeError(limit));
      return;
    }
    parse(req, res, (err?: unknown) => {
      const tooLarge =
        typeof err === 'object' && err !== null && 'type' in err && err.type === 'entity.too.large';
      next(tooLarge ? new FileTooLargeError(limit) : err);
    });
  };
}

function bodyBuffer(req: Request): Buffer {
  const data = req.body as unknown;
  if (!(data instanceof Buffer) || data.byteLength === 0) {
    throw new ValidationError('The file is missing', [
      { path: 'body', message: 'send the file itself as the request body' },
    ]);
  }
  return data;
}
