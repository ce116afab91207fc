import { timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { toPublicUser, type UserModel } from '../../directory/User.js';
import { toAppError } from '../../errors.js';
import { jsonBody } from '../../http/bodyParsers.js';
import type { Logger } from '../../logger.js';
import { AppserviceError } from './AppserviceError.js';
import type { AppserviceTransactions } from './AppserviceTransactions.js';
import type { MatrixIdentities } from './MatrixIdentities.js';

export interface AppserviceRouterOptions {
  hsToken: string;
  transactions: AppserviceTransactions;
  identities: MatrixIdentities;
  users: UserModel;
  /** Provisions a directory user Synapse asked about. */
  ensureUser: (user: ReturnType<typeof toPublicUser>) => Promise<string>;
  logger: Logger;
  body: { limitBytes: number; maxDepth: number };
}

/**
 * The routes Synapse calls (the application-service API), mounted at the app's root; errors answer in Matrix's
 * `{ errcode, error }`. The hs_token is checked before any body is read; only transactions have one.
 */
export function appserviceRouter(o: AppserviceRouterOptions): Router {
  const router = express.Router();
  const prefix = '/_matrix/app/v1';
  // Keys named __proto__ (a Matrix user may put one in an event) are dropped, not refused: Synapse would
  // resend a refused transaction forever.
  const transactionBody = jsonBody({ ...o.body, protoKeys: 'drop' });
  router.use('/_matrix/app', verifyHsToken(o.hsToken));
  router.put(`${prefix}/transactions/:txnId`, transactionBody, async (req, res) => {
    await o.transactions.transaction(String(req.params.txnId), req.body);
    res.json({});
  });
  router.get(`${prefix}/users/:userId`, async (req, res) => {
    const extension = o.identities.extensionOf(String(req.params.userId));
    const doc = extension ? await o.users.findOne({ extension, disabled: false }).lean() : null;
    if (!doc) throw new AppserviceError(404, 'M_NOT_FOUND', 'No such directory user');
    await o.ensureUser(toPublicUser(doc));
    res.json({});
  });
  router.get(`${prefix}/rooms/:alias`, () => {
    throw new AppserviceError(404, 'M_NOT_FOUND', 'Rooms are not created on demand');
  });
  router.post(`${prefix}/ping`, (_req, res) => {
    res.json({});
  });
  router.use('/_matrix/app', () => {
    throw new AppserviceError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  });
  const errors: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = err instanceof AppserviceError ? err : undefined;
    const appError = known ?? AppserviceError.fromClientError(err) ?? toAppError(err);
    if (appError.status >= 500) o.logger.error({ err, path: req.path }, 'appservice request failed');
    const errcode = appError instanceof AppserviceError ? appError.errcode : 'M_UNKNOWN';
    res.status(appError.status).json({ errcode, error: appError.message });
  };
  router.use('/_matrix/app', errors);
  return router;
}

/** Synapse authenticates with the hs_token, as a bearer header (current spec) or `?access_token` (legacy). */
function verifyHsToken(hsToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = presentedToken(req);
    if (token === undefined) throw new AppserviceError(401, 'M_UNAUTHORIZED', 'No hs_token');
    if (!sameSecret(token, hsToken)) throw new AppserviceError(403, 'M_FORBIDDEN', 'Bad hs_token');
    next();
  };
}

function presentedToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '';
  const query: unknown = req.query.access_token;
  return typeof query === 'string' ? query : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
