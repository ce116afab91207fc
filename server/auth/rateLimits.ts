import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { RateLimitedError } from '../errors.js';

export interface LimitOptions {
  windowMs: number;
  limit: number;
  /** Which bucket a request falls in; requests without a key are not counted here. */
  key: (req: Request) => string | undefined;
  /** Count only failed attempts (a successful login does not use up the extension's budget). */
  failuresOnly?: boolean;
}

/**
 * A fixed-window limiter (express-rate-limit, in-memory store; a Redis store drops in for several instances).
 * Over the limit, the request fails with 429 RATE_LIMITED and Retry-After through the one error middleware.
 */
export function limiter(options: LimitOptions): RequestHandler {
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: options.failuresOnly ?? false,
    skip: (req) => options.key(req) === undefined,
    keyGenerator: (req) => options.key(req) ?? '',
    handler: (req, _res, next) => {
      const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const resetMs = info?.resetTime ? info.resetTime.getTime() - Date.now() : options.windowMs;
      next(new RateLimitedError(Math.max(1, Math.ceil(resetMs / 1000))));
    },
  });
}

export function byIp(prefix: string): (req: Request) => string | undefined {
  return (req) => `${prefix}:${ipKeyGenerator(req.ip ?? 'unknown')}`;
}

/** The extension named in the body, normalized; a body without one is left to validation. */
export function byExtension(prefix: string): (req: Request) => string | undefined {
  return (req) => {
    const ext: unknown = (req.body as { extension?: unknown } | undefined)?.extension;
    return typeof ext === 'string' && ext.trim() !== '' ? `${prefix}:${ext.trim()}` : undefined;
  };
}
