import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ErrorResponse } from '../../shared/errors.js';
import { NotFoundError, RateLimitedError, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { clientErrorOf } from './clientErrors.js';

/** Unknown routes answer in the same error shape as everything else. */
export const apiNotFound: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`No route for ${req.method} ${req.path}`));
};

/**
 * The one place where errors become HTTP responses. What the client caused is a 4xx (logged at debug); only
 * INTERNAL, a bug of ours, is logged as an error; a dependency that is down (503) is a warning.
 */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const appError = clientErrorOf(err) ?? toAppError(err);
    const where = { method: req.method, path: req.path, status: appError.status, code: appError.code };
    if (appError.code === 'INTERNAL') logger.error({ err, ...where }, 'request failed');
    else if (appError.status >= 500) logger.warn({ ...where, message: appError.message }, 'request failed');
    else logger.debug({ ...where, message: appError.message }, 'request refused');
    if (appError instanceof RateLimitedError)
      res.setHeader('Retry-After', String(appError.retryAfterSeconds));
    const body: ErrorResponse = { error: appError.toBody() };
    res.status(appError.status).json(body);
  };
}
