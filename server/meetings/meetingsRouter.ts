import { Router, type CookieOptions, type Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import {
  createMeetingSchema,
  guestBrowserKeySchema,
  guestCodeSchema,
  guestJoinSchema,
  listMeetingsQuerySchema,
  meetingIdSchema,
  updateMeetingSchema,
} from '../../shared/schemas/meetings.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { limiter } from '../auth/rateLimits.js';
import type { Config } from '../config.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
import { newGuestBrowserKey, type MeetingService } from './MeetingService.js';

/** The browser-bound guest credential: the same browser gets the same guest id back in a meeting. */
export const GUEST_COOKIE = 'ucc_guest';

/** /api/meetings: scheduling for directory users; creating needs the PRO plan. */
export function meetingsRouter(meetings: MeetingService, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());
  const idOf = (params: Record<string, unknown>): string =>
    parseInput(meetingIdSchema, params.id, 'meeting id');

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

/**
 * /api/guest/:code: what an external guest may see, and the guest token. No login. Minting is limited per client
 * IP and link, and bound to the browser by an HttpOnly, SameSite=Strict cookie holding a random key.
 */
export function guestRouter(
  meetings: MeetingService,
  config: Pick<Config, 'http' | 'rateLimits' | 'meetings'>,
  body: Pick<BodyParsers, 'publicJson'>,
): Router {
  const router = Router();
  const codeOf = (params: Record<string, unknown>): string =>
    parseInput(guestCodeSchema, params.code, 'guest code');
  const cookie: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: config.http.publicUrl.startsWith('https:'),
    path: '/api/guest',
    maxAge: config.meetings.guestBrowserTtlMs,
  };
  const browserKeyOf = (req: Request): string | undefined => {
    const parsed = guestBrowserKeySchema.safeParse((req.cookies as Record<string, unknown>)[GUEST_COOKIE]);
    return parsed.success ? parsed.data : undefined;
  };
  const mintLimit = limiter({
    windowMs: config.rateLimits.windowMs,
    limit: config.rateLimits.guestJoinPerIpAndLink,
    key: (req) => `guest-join:${ipKeyGenerator(req.ip ?? 'unknown')}:${String(req.params.code)}`,
  });

  router.get('/:code', async (req, res) => {
    res.json(await meetings.guestView(codeOf(req.params)));
  });

  router.post('/:code/join', mintLimit, body.publicJson, async (req, res) => {
    const code = codeOf(req.params);
    const { displayName } = parseInput(guestJoinSchema, req.body);
    const browserKey = browserKeyOf(req) ?? newGuestBrowserKey();
    const answer = await meetings.guestJoin(code, displayName, browserKey);
    // Renewed at each join, so a browser in regular use keeps its key.
    res.cookie(GUEST_COOKIE, browserKey, cookie);
    res.status(201).json(answer);
  });

  return router;
}
