import { Router, type CookieOptions, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import {
  changePasswordSchema,
  loginRequestSchema,
  recoverRequestSchema,
  resetRequestSchema,
} from '../../shared/schemas/auth.js';
import type { Config } from '../config.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
import { requireUser, userOf } from './authMiddleware.js';
import type { AuthService, Session } from './AuthService.js';
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
): Router {
  const router = Router();
  const limits = config.rateLimits;
  const loginThrottle = new LoginThrottle(limits);
  const cookie: CookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: config.http.publicUrl.startsWith('https:'),
    path: '/api/auth',
  };
  const sendSession = (res: Response, session: Session): void => {
    res.cookie(REFRESH_COOKIE, session.refreshToken, { ...cookie, expires: session.refreshExpiresAt });
    res.json(session.response);
  };
  const presentedRefresh = (cookies: unknown): string | undefined => {
    const value = (cookies as Record<string, unknown> | undefined)?.[REFRESH_COOKIE];
    return typeof value === 'string' ? value : undefined;
  };

  // Validated before any limiter keyed by the extension: keys are never raw input. See LoginThrottle.
  router.post(
    '/login',
    limiter({ windowMs: limits.windowMs, limit: limits.loginPerIp, key: byIp('login') }),
    body.publicJson,
    async (req, res) => {
      const { extension, password } = parseInput(loginRequestSchema, req.body);
      const attempt = await loginThrottle.begin(extension, ipKey(req));
      const session = await auth.login(extension, password);
      await attempt.succeeded();
      sendSession(res, session);
    },
  );

  router.post('/refresh', async (req, res) => {
    sendSession(res, await auth.refresh(presentedRefresh(req.cookies)));
  });

  router.post('/logout', async (req, res) => {
    await auth.logout(presentedRefresh(req.cookies));
    res.clearCookie(REFRESH_COOKIE, cookie);
    res.status(204).end();
  });

  router.post('/password', requireUser(), body.json, async (req, res) => {
    const body = parseInput(changePasswordSchema, req.body);
    await auth.changePassword(
      userOf(res).userId,
      body.currentPassword,
      body.newPassword,
      presentedRefresh(req.cookies),
    );
    res.status(204).end();
  });

  router.post(
    '/recover',
    limiter({ windowMs: limits.windowMs, limit: limits.recoverPerIp, key: byIp('recover') }),
    body.publicJson,
    validated(recoverRequestSchema),
    limiter({ windowMs: limits.windowMs, limit: limits.recoverPerExtension, key: byExtension('recover') }),
    (req, res) => {
      const { extension } = req.body as z.infer<typeof recoverRequestSchema>;
      auth.recover(extension);
      res.status(202).json({ status: 'accepted' });
    },
  );

  router.post('/reset', body.publicJson, async (req, res) => {
    const { token, password } = parseInput(resetRequestSchema, req.body);
    await auth.resetPassword(token, password);
    res.status(204).end();
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
