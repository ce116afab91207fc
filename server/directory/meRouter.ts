import { Router } from 'express';
import { updatePreferencesSchema } from '../../shared/schemas/directory.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { NotFoundError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
import { toProfile, type UserModel } from './User.js';

/** /api/me: the caller's own profile ("Il tuo profilo") and the preferences the settings screen keeps. */
export function meRouter(users: UserModel, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());

  // Read as documents, not lean(): mongoose then fills in the defaults of preferences added after an account
  // was saved.
  router.get('/', async (_req, res) => {
    const user = await users.findById(userOf(res).userId);
    if (!user) throw new NotFoundError();
    res.json(toProfile(user));
  });

  router.patch('/preferences', body.json, async (req, res) => {
    const changes = parseInput(updatePreferencesSchema, req.body);
    // One $set per field given: the others keep their values; `devices` is one field, replaced as a whole.
    const $set = Object.fromEntries(Object.entries(changes).map(([k, v]) => [`preferences.${k}`, v]));
    const user = await users.findByIdAndUpdate(userOf(res).userId, { $set }, { new: true });
    if (!user) throw new NotFoundError();
    res.json(toProfile(user));
  });

  return router;
}
