import { Router } from 'express';
import { objectIdSchema } from '../../shared/schemas/directory.js';
import {
  createMeetingSchema,
  guestCodeSchema,
  guestJoinSchema,
  listMeetingsQuerySchema,
  updateMeetingSchema,
} from '../../shared/schemas/meetings.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
import type { MeetingService } from './MeetingService.js';

/** /api/meetings: scheduling for directory users; creating needs the PRO plan. */
export function meetingsRouter(meetings: MeetingService, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());
  const idOf = (params: Record<string, unknown>): string =>
    parseInput(objectIdSchema, params.id, 'meeting id');

  router.post('/', requireUser({ plan: 'pro' }), body.json, async (req, res) => {
    const fields = parseInput(createMeetingSchema, req.body);
    res.status(201).json(await meetings.create(userOf(res), fields));
  });

  router.get('/', async (req, res) => {
    const { scope } = parseInput(listMeetingsQuerySchema, req.query, 'query');
    res.json({ items: await meetings.list(userOf(res), scope) });
  });

  router.get('/:id', async (req, res) => {
    res.json(await meetings.get(userOf(res), idOf(req.params)));
  });

  router.patch('/:id', body.json, async (req, res) => {
    const changes = parseInput(updateMeetingSchema, req.body);
    res.json(await meetings.update(userOf(res), idOf(req.params), changes));
  });

  router.delete('/:id', async (req, res) => {
    await meetings.cancel(userOf(res), idOf(req.params));
    res.status(204).end();
  });

  router.post('/:id/guest-link/rotate', async (req, res) => {
    res.json(await meetings.rotateGuestLink(userOf(res), idOf(req.params)));
  });

  router.get('/:id/invite.ics', async (req, res) => {
    const ics = await meetings.invitationIcs(userOf(res), idOf(req.params));
    res.type('text/calendar; charset=utf-8; method=REQUEST').attachment('invite.ics').send(ics);
  });

  return router;
}

/** /api/guest/:code: what an external guest may see, and the guest token. No login, so small bodies. */
export function guestRouter(meetings: MeetingService, body: Pick<BodyParsers, 'publicJson'>): Router {
  const router = Router();
  const codeOf = (params: Record<string, unknown>): string =>
    parseInput(guestCodeSchema, params.code, 'guest code');

  router.get('/:code', async (req, res) => {
    res.json(await meetings.guestView(codeOf(req.params)));
  });

  router.post('/:code/join', body.publicJson, async (req, res) => {
    const code = codeOf(req.params);
    const { displayName } = parseInput(guestJoinSchema, req.body);
    res.status(201).json(await meetings.guestJoin(code, displayName));
  });

  return router;
}
