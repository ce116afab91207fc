import type { Request, RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import type { PLANS, ROLES, UserModel } from '../directory/User.js';
import { accountInactive, sessionEnded } from './errors.js';
import type { TokenService } from './TokenService.js';

export interface UserAuth {
  kind: 'user';
  userId: string;
  extension: string;
  role: (typeof ROLES)[number];
  plan: (typeof PLANS)[number];
  /** The login session (refresh-token family) of the token, when it names one. */
  sessionId?: string;
  /** When the token expires, in ms since the epoch. */
  expiresAt?: number;
}

export interface GuestAuth {
  kind: 'guest';
  guestId: string;
  meetingId: string;
  displayName: string;
  linkVersion: number;
  /** When the token expires, in ms since the epoch. */
  expiresAt?: number;
}

export type Auth = UserAuth | GuestAuth;

const AUTH_KEY = 'auth';
const AUTH_ERROR_KEY = 'authError';

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new UnauthenticatedError('Malformed Authorization header');
  return match[1];
}

/**
 * Resolves who is calling, from `Authorization: Bearer <token>`, user or guest. A user token is checked against
 * the directory on every request, so a disabled account or a plan change takes effect at once.
 */
export async function resolveAuth(
  token: string,
  deps: {
    tokens: TokenService;
    users: UserModel;
    /** When given, a token whose session has ended (logout, revocation) is refused too: HTTP and sockets alike. */
    sessions?: { isActive: (sessionId: string) => Promise<boolean> };
  },
): Promise<Auth> {
  let userError: unknown;
  try {
    const claims = deps.tokens.verifyAccess(token);
    const user = await deps.users
      .findById(claims.userId, { extension: 1, role: 1, plan: 1, disabled: 1 })
      .lean();
    if (!user || user.disabled) throw accountInactive();
    if (
      claims.sessionId !== undefined &&
      deps.sessions &&
      !(await deps.sessions.isActive(claims.sessionId))
    ) {
      throw sessionEnded();
    }
    const auth: UserAuth = {
      kind: 'user',
      userId: String(user._id),
      extension: user.extension,
      role: user.role,
      plan: user.plan,
      expiresAt: deps.tokens.expiresAt(token),
    };
    if (claims.sessionId !== undefined) auth.sessionId = claims.sessionId;
    return auth;
  } catch (err) {
    userError = err;
  }
  try {
    const guest = deps.tokens.verifyGuest(token);
    return { kind: 'guest', ...guest, expiresAt: deps.tokens.expiresAt(token) };
  } catch {
    throw userError;
  }
}

/**
 * Sets the caller's identity when a valid token is present. A bad token is remembered, not thrown: public routes
 * (login, refresh) must work even when a client still sends an expired access token; guarded routes throw it.
 */
export function authenticate(deps: Parameters<typeof resolveAuth>[1]): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = bearerToken(req);
      if (token) res.locals[AUTH_KEY] = await resolveAuth(token, deps);
    } catch (err) {
      res.locals[AUTH_ERROR_KEY] = err;
    }
    next();
  };
}

export function authOf(res: Response): Auth | undefined {
  return res.locals[AUTH_KEY] as Auth | undefined;
}

/** The caller's identity, or the reason there is none. */
function requireAuth(res: Response): Auth {
  const auth = authOf(res);
  if (auth) return auth;
  throw res.locals[AUTH_ERROR_KEY] ?? new UnauthenticatedError();
}

/** The calling user; for handlers behind requireUser. */
export function userOf(res: Response): UserAuth {
  const auth = authOf(res);
  if (auth?.kind !== 'user') throw new UnauthenticatedError();
  return auth;
}

/** Only directory users, optionally with a role or plan. Guests are refused: their token is for one meeting. */
export function requireUser(options: { role?: 'admin'; plan?: 'pro' } = {}): RequestHandler {
  return (_req, res, next) => {
    const auth = requireAuth(res);
    if (auth.kind !== 'user') throw new ForbiddenError('A guest token cannot call this endpoint');
    if (options.role && auth.role !== options.role) throw new ForbiddenError('Administrators only');
    if (options.plan && auth.plan !== options.plan) {
      throw new ForbiddenError('This needs a PRO plan');
    }
    next();
  };
}

/** Only guests (a guest token); an access token is refused. */
export function requireGuest(): RequestHandler {
  return (_req, res, next) => {
    const auth = requireAuth(res);
    if (auth.kind !== 'guest') throw new ForbiddenError('This endpoint takes a guest token');
    next();
  };
}
