import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ErrorResponse } from '../../shared/errors.js';
import { AppError, NotFoundError, RateLimitedError, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Unknown routes under /api answer in the same error shape as everything else. */
export const apiNotFound: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`No route for ${req.method} ${req.path}`));
};

/** The one place where errors become HTTP responses. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const appError = bodyParserError(err) ?? toAppError(err);
    if (appError.status >= 500) logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (appError instanceof RateLimitedError)
      res.setHeader('Retry-After', String(appError.retryAfterSeconds));
    const body: ErrorResponse = { error: appError.toBody() };
    res.status(appError.status).json(body);
  };
}

/** express.json() throws plain errors with a `type`; a malformed body is the client's fault, not ours. */
function bodyParserError(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'VALIDATION_FAILED', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'VALIDATION_FAILED', 'The request body is too large');
    default:
      return undefined;
  }
}
