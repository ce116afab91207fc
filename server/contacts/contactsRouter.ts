import { Router, type RequestHandler } from 'express';
import {
  CONTACT_IMAGE_TYPES,
  CONTACT_IMPORT_TYPES,
  categoryRoutes,
  contactRoutes,
  phoneSearchRoutes,
} from '../../shared/rest/contract.js';
import { importQuerySchema } from '../../shared/schemas/contacts.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { rawFileBody, type BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import { parseInput } from '../http/validate.js';
import type { CategoryService } from './CategoryService.js';
import { callerOf } from './ContactAccess.js';
import { exportContacts } from './contactExport.js';
import type { ContactImport } from './ContactImport.js';
import type { ContactService } from './ContactService.js';
import { sampleContactCsv } from './formats/contactCsv.js';
import type { PhoneSearch } from './PhoneSearch.js';

export interface ContactsRouterOptions {
  contacts: ContactService;
  imports: ContactImport;
  body: Pick<BodyParsers, 'json'>;
  /** Import files larger than this are refused with 413 FILE_TOO_LARGE. */
  importMaxBytes: number;
  imageMaxBytes: number;
}

/**
 * /api/contacts: the Rubrica's contacts, their images, import and export. Every route is for directory users;
 * authorization runs before validation, so an outsider learns nothing from a 400.
 */
export function contactsRouter(options: ContactsRouterOptions): Router {
  const { contacts, imports, body } = options;
  const router = Router();
  const user = requireUser();
  const routes = contactRoutes;

  on(router, routes.list, [user], async ({ query }, _req, res) =>
    reply(200, await contacts.list(callerOf(userOf(res)), query)),
  );

  on(router, routes.create, [user, body.json], async ({ body: input }, _req, res) =>
    reply(201, await contacts.create(callerOf(userOf(res)), input)),
  );

  on(router, routes.bulkDelete, [user, body.json], async ({ body: { ids } }, _req, res) =>
    reply(200, await contacts.remove(callerOf(userOf(res)), ids)),
  );

  on(router, routes.sampleCsv, [user], (_input, _req, res) => {
    res.attachment('esempio-contatti.csv').type('text/csv; charset=utf-8').send(sampleContactCsv());
    return Promise.resolve(undefined);
  });

  on(router, routes.export, [user], async ({ query }, _req, res) => {
    const file = await exportContacts(contacts, callerOf(userOf(res)), query);
    // attachment() first: it sets the type from the file's extension (.vcf: the obsolete text/x-vcard).
    res.attachment(file.filename).type(file.contentType).send(file.body);
    return undefined;
  });

  // The query is checked before the body is read: a bad format costs no upload.
  const importQueryFirst: RequestHandler = (req, _res, next) => {
    parseInput(importQuerySchema, req.query, 'query');
    next();
  };
  on(
    router,
    routes.import,
    [user, importQueryFirst, rawBody(CONTACT_IMPORT_TYPES, options.importMaxBytes)],
    async ({ query, body: file }, _req, res) =>
      reply(200, await imports.run(callerOf(userOf(res)), fileOf(file), query)),
  );

  on(router, routes.get, [user], async ({ params }, _req, res) =>
    reply(200, await contacts.get(callerOf(userOf(res)), params.id)),
  );

  on(router, routes.update, [user, body.json], async ({ params, body: changes }, _req, res) =>
    reply(200, await contacts.update(callerOf(userOf(res)), params.id, changes)),
  );

  on(router, routes.delete, [user], async ({ params }, _req, res) => {
    await contacts.remove(callerOf(userOf(res)), [params.id]);
    return reply(204, undefined);
  });

  on(
    router,
    routes.putImage,
    [user, rawBody(CONTACT_IMAGE_TYPES, options.imageMaxBytes)],
    async ({ params, body: file }, _req, res) =>
      reply(200, await contacts.putImage(callerOf(userOf(res)), params.id, fileOf(file))),
  );

  on(router, routes.image, [user], async ({ params }, _req, res) => {
    const image = await contacts.getImage(callerOf(userOf(res)), params.id);
    // The URL carries the image's version (?v=): a new upload is a new URL.
    res.type(image.contentType).set('Cache-Control', 'private, max-age=86400').send(image.data);
    return undefined;
  });

  on(router, routes.deleteImage, [user], async ({ params }, _req, res) =>
    reply(200, await contacts.deleteImage(callerOf(userOf(res)), params.id)),
  );

  return router;
}

/** /api/categories: the contact categories and their memberships. */
export function categoriesRouter(categories: CategoryService, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  const user = requireUser();
  const routes = categoryRoutes;

  on(router, routes.list, [user], async ({ query }, _req, res) =>
    reply(200, await categories.list(callerOf(userOf(res)), query)),
  );

  on(router, routes.create, [user, body.json], async ({ body: input }, _req, res) =>
    reply(201, await categories.create(callerOf(userOf(res)), input)),
  );

  on(router, routes.bulkDelete, [user, body.json], async ({ body: { ids } }, _req, res) =>
    reply(200, await categories.remove(callerOf(userOf(res)), ids)),
  );

  on(router, routes.get, [user], async ({ params }, _req, res) =>
    reply(200, await categories.get(callerOf(userOf(res)), params.id)),
  );

  on(router, routes.update, [user, body.json], async ({ params, body: changes }, _req, res) =>
    reply(200, await categories.update(callerOf(userOf(res)), params.id, changes)),
  );

  on(router, routes.delete, [user], async ({ params }, _req, res) =>
    reply(200, await categories.remove(callerOf(userOf(res)), [params.id])),
  );

  return router;
}

/** /api/search: the phone's search over directory users and visible contacts. */
export function phoneSearchRouter(search: PhoneSearch): Router {
  const router = Router();
  on(router, phoneSearchRoutes.search, [requireUser()], async ({ query }, _req, res) =>
    reply(200, await search.search(callerOf(userOf(res)), query)),
  );
  return router;
}

/** A raw body of one of `types` (another is 415 before a byte is read), at most `limit` bytes. */
function rawBody(types: readonly string[], limit: number): RequestHandler {
  return rawFileBody(limit, (req) =>
    req.headers['content-length'] !== '0' && req.is([...types]) === false
      ? new UnsupportedMediaTypeError(`Send the file as ${types.join(', ')}`)
      : undefined,
  );
}

function fileOf(data: unknown): Buffer {
  if (!(data instanceof Buffer) || data.byteLength === 0) {
    throw new ValidationError('The file is missing', [
      { path: 'body', message: 'send the file itself as the request body' },
    ]);
  }
  return data;
}
