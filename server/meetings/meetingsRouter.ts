import { Router, type CookieOptions, type Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { guestRoutes, meetingRoutes as routes } from '../../shared/rest/contract.js';
import { guestBrowserKeySchema } from '../../shared/schemas/meetings.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { limiter } from '../auth/rateLimits.js';
import type { Config } from '../config.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import type { RateLimits } from '../util/RateLimits.js';
import { newGuestBrowserKey, type MeetingService } from './MeetingService.js';

/** The browser-bound guest credential: the same browser gets the same guest id back in a meeting. */
export const GUEST_COOKIE = 'ucc_guest';

/** /api/meetings: scheduling for directory users; creating needs the PRO plan. */
export function meetingsRouter(meetings: MeetingService, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());

  on(router, routes.create, [requireUser({ plan: 'pro' }), body.json], async ({ body: fields }, _req, res) =>
    reply(201, await meetings.create(userOf(res), fields)),
  );

  on(router, routes.list, [], async ({ query }, _req, res) =>
    reply(200, { items: await meetings.list(userOf(res), query.scope) }),
  );

  on(router, routes.get, [], async ({ params }, _req, res) =>
    reply(200, await meetings.get(userOf(res), params.id)),
  );

  on(router, routes.update, [body.json], async ({ params, body: changes }, _req, res) =>
    reply(200, await meetings.update(userOf(res), params.id, changes)),
  );

  on(router, routes.cancel, [], async ({ params }, _req, res) => {
    await meetings.cancel(userOf(res), params.id);
    return reply(204, undefined);
  });

  on(router, routes.rotateGuestLink, [], async ({ params }, _req, res) =>
    reply(200, await meetings.rotateGuestLink(userOf(res), params.id)),
  );

  on(router, routes.invitation, [], async ({ params }, _req, res) => {
    const ics = await meetings.invitationIcs(userOf(res), params.id);
    res.type('text/calendar; charset=utf-8; method=REQUEST').attachment('invite.ics').send(ics);
    return undefined;
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
  counters: RateLimits,
): Router {
  const router = Router();
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
  const mintLimit = limiter(counters, {
    name: 'guest-join',
    windowMs: config.rateLimits.windowMs,
    limit: config.rateLimits.guestJoinPerIpAndLink,
    key: (req) => `guest-join:${ipKeyGenerator(req.ip ?? 'unknown')}:${String(req.params.code)}`,
  });

  on(router, guestRoutes.view, [], async ({ params }) => reply(200, await meetings.guestView(params.code)));

  on(router, guestRoutes.join, [mintLimit, body.publicJson], async ({ params, body: join }, req, res) => {
    const browserKey = browserKeyOf(req) ?? newGuestBrowserKey();
    const answer = await meetings.guestJoin(params.code, join.displayName, browserKey);
    // Renewed at each join, so a browser in regular use keeps its key.
    res.cookie(GUEST_COOKIE, browserKey, cookie);
    return reply(201, answer);
  });

  return router;
}
