import { Router, type CookieOptions, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { authRoutes as routes } from '../../shared/rest/contract.js';
import { recoverRequestSchema } from '../../shared/schemas/auth.js';
import type { Config } from '../config.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import { parseInput } from '../http/validate.js';
import { requireUser, userOf } from './authMiddleware.js';
import type { AuthService, Session } from './AuthService.js';
import type { RateLimits } from '../util/RateLimits.js';
import { byExtension, byIp, ipKey, limiter, LoginThrottle } from './rateLimits.js';

export const REFRESH_COOKIE = 'ucc_refresh';

/**
 * /api/auth: login, refresh, logout, password change and recovery. Login, recover and reset need no token, so
 * their bodies are small JSON, read after the per-IP limit; the password change reads its body once the user is
 * known.
 */
export function authRouter(
  auth: AuthService,
  config: Pick<Config, 'http' | 'rateLimits'>,
  body: Pick<BodyParsers, 'publicJson' | 'json'>,
  counters: RateLimits,
): Router {
  const router = Router();
  const limits = config.rateLimits;
  const loginThrottle = new LoginThrottle(limits, counters);
  const cookie: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: config.http.publicUrl.startsWith('https:'),
    path: '/api/auth',
  };
  const sendSession = (res: Response, session: Session) => {
    res.cookie(REFRESH_COOKIE, session.refreshToken, { ...cookie, expires: session.refreshExpiresAt });
    return reply(200, session.response);
  };
  const presentedRefresh = (cookies: unknown): string | undefined => {
    const value = (cookies as Record<string, unknown> | undefined)?.[REFRESH_COOKIE];
    return typeof value === 'string' ? value : undefined;
  };

  // Validated before any limiter keyed by the extension: keys are never raw input. See LoginThrottle.
  on(
    router,
    routes.login,
    [
      limiter(counters, {
        name: 'login-ip',
        windowMs: limits.windowMs,
        limit: limits.loginPerIp,
        key: byIp('login'),
      }),
      body.publicJson,
    ],
    async ({ body: { extension, password } }, req, res) => {
      const attempt = await loginThrottle.begin(extension, ipKey(req));
      const session = await auth.login(extension, password);
      await attempt.succeeded();
      return sendSession(res, session);
    },
  );

  on(router, routes.refresh, [], async (_input, req, res) =>
    sendSession(res, await auth.refresh(presentedRefresh(req.cookies))),
  );

  on(router, routes.logout, [], async (_input, req, res) => {
    await auth.logout(presentedRefresh(req.cookies));
    res.clearCookie(REFRESH_COOKIE, cookie);
    return reply(204, undefined);
  });

  on(router, routes.changePassword, [requireUser(), body.json], async ({ body: change }, req, res) => {
    await auth.changePassword(
      userOf(res).userId,
      change.currentPassword,
      change.newPassword,
      presentedRefresh(req.cookies),
    );
    return reply(204, undefined);
  });

  on(
    router,
    routes.recover,
    [
      limiter(counters, {
        name: 'recover-ip',
        windowMs: limits.windowMs,
        limit: limits.recoverPerIp,
        key: byIp('recover'),
      }),
      body.publicJson,
      validated(recoverRequestSchema),
      limiter(counters, {
        name: 'recover-extension',
        windowMs: limits.windowMs,
        limit: limits.recoverPerExtension,
        key: byExtension('recover'),
      }),
    ],
    // eslint-disable-next-line @typescript-eslint/require-await -- every typed handler returns a promise
    async ({ body: { extension } }) => {
      auth.recover(extension);
      return reply(202, { status: 'accepted' });
    },
  );

  on(router, routes.reset, [body.publicJson], async ({ body: { token, password } }) => {
    await auth.resetPassword(token, password);
    return reply(204, undefined);
  });

  return router;
}

/** Replaces the body by its parsed value (or fails with 400), for the handlers after it. */
function validated(schema: z.ZodType): RequestHandler {
  return (req, _res, next) => {
    req.body = parseInput(schema, req.body);
    next();
  };
}
