import { Router, type Request } from 'express';
import {
  createUserSchema,
  searchQuerySchema,
  syncRequestSchema,
  updateUserSchema,
  userIdParamsSchema,
} from '../../shared/schemas/directory.js';
import { requireUser } from '../auth/authMiddleware.js';
import { ValidationError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
import type { DirectoryService } from './DirectoryService.js';

function userId(req: Request): string {
  return parseInput(userIdParamsSchema, req.params, 'user id').id;
}

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

  router.get('/', requireUser(), async (req, res) => {
    res.json(await directory.search(parseInput(searchQuerySchema, req.query, 'query')));
  });

  router.get('/users/:id', admin, async (req, res) => {
    res.json(await directory.get(userId(req)));
  });

  router.post('/users', admin, body.json, async (req, res) => {
    res.status(201).json(await directory.create(parseInput(createUserSchema, req.body, 'user')));
  });

  router.patch('/users/:id', admin, body.json, async (req, res) => {
    const id = userId(req);
    res.json(await directory.update(id, parseInput(updateUserSchema, req.body, 'changes')));
  });

  router.delete('/users/:id', admin, async (req, res) => {
    await directory.remove(userId(req));
    res.status(204).end();
  });

  // The PBX's full list: the bulk limit.
  router.put('/sync', admin, body.bulkJson, async (req, res) => {
    res.json(await directory.sync(parseInput(syncRequestSchema, req.body, 'sync request').users));
  });

  // The CSV parser refuses any other type (415); a request without a body arrives here with none.
  router.post('/import', admin, body.csv, async (req, res) => {
    const csv: unknown = req.body;
    if (typeof csv !== 'string') {
      throw new ValidationError('A text/csv body is required', [
        { path: 'body', message: 'send the CSV with Content-Type: text/csv' },
      ]);
    }
    res.json(await directory.importCsv(csv));
  });

  return router;
}
