import { Router } from 'express';
import { directoryRoutes as routes } from '../../shared/rest/contract.js';
import { requireUser } from '../auth/authMiddleware.js';
import { ValidationError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import type { DirectoryService } from './DirectoryService.js';

/**
 * /api/directory: colleague search for every directory user; user management and PBX provisioning for
 * administrators. Authorization runs before validation, so an outsider learns nothing from a 400.
 */
export function directoryRouter(
  directory: DirectoryService,
  body: Pick<BodyParsers, 'json' | 'bulkJson' | 'csv'>,
): Router {
  const router = Router();
  const admin = requireUser({ role: 'admin' });

  on(router, routes.search, [requireUser()], async ({ query }) => reply(200, await directory.search(query)));

  on(router, routes.getUser, [admin], async ({ params }) => reply(200, await directory.get(params.id)));

  on(router, routes.createUser, [admin, body.json], async ({ body: fields }) =>
    reply(201, await directory.create(fields)),
  );

  on(router, routes.updateUser, [admin, body.json], async ({ params, body: changes }) =>
    reply(200, await directory.update(params.id, changes)),
  );

  on(router, routes.deleteUser, [admin], async ({ params }) => {
    await directory.remove(params.id);
    return reply(204, undefined);
  });

  // The PBX's full list: the bulk limit.
  on(router, routes.sync, [admin, body.bulkJson], async ({ body: request }) =>
    reply(200, await directory.sync(request.users)),
  );

  // The CSV parser refuses any other type (415); a request without a body arrives here with none.
  on(router, routes.importCsv, [admin, body.csv], async ({ body: csv }) => {
    if (typeof csv !== 'string') {
      throw new ValidationError('A text/csv body is required', [
        { path: 'body', message: 'send the CSV with Content-Type: text/csv' },
      ]);
    }
    return reply(200, await directory.importCsv(csv));
  });

  return router;
}
