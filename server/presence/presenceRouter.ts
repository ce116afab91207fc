import { Router } from 'express';
import { presenceRoutes } from '../../shared/rest/contract.js';
import { requireUser } from '../auth/authMiddleware.js';
import { on, reply } from '../http/typedRoute.js';
import type { Presence } from './Presence.js';

/** /api/presence: the starting state of a list of colleagues; `presence.changed` on the socket keeps it. */
export function presenceRouter(presence: Presence): Router {
  const router = Router();
  router.use(requireUser());
  on(router, presenceRoutes.get, [], async ({ query }) =>
    reply(200, { presence: await presence.read(query.ids) }),
  );
  return router;
}
