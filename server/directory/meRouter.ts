import { Router } from 'express';
import { meRoutes as routes } from '../../shared/rest/contract.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { NotFoundError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import { toProfile, type UserModel } from './User.js';

/**
 * /api/me: the caller's own profile ("Il tuo profilo") and the preferences the settings screen keeps. Writes go
 * through `userWrites`, the per-user queue shared with the directory (an admin's disable must survive a concurrent
 * preferences save on FerretDB).
 */
export function meRouter(users: UserModel, userWrites: KeyedSerial, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());

  // Read as documents, not lean(): mongoose then fills in the defaults of preferences added after an account
  // was saved.
  on(router, routes.profile, [], async (_input, _req, res) => {
    const user = await users.findById(userOf(res).userId);
    if (!user) throw new NotFoundError();
    return reply(200, toProfile(user));
  });

  on(router, routes.updatePreferences, [body.json], async ({ body: changes }, _req, res) => {
    // One $set per field given: the others keep their values; `devices` is one field, replaced as a whole.
    const $set = Object.fromEntries(Object.entries(changes).map(([k, v]) => [`preferences.${k}`, v]));
    const userId = userOf(res).userId;
    const user = await userWrites.run(userId, () => users.findByIdAndUpdate(userId, { $set }, { new: true }));
    if (!user) throw new NotFoundError();
    return reply(200, toProfile(user));
  });

  return router;
}
