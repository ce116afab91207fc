import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors.js';
import { consumeOrLimit, type RateLimits } from '../util/RateLimits.js';

export interface LimitOptions {
  /** The limiter's own namespace of keys (see RateLimits). */
  name: string;
  windowMs: number;
  limit: number;
  /** Which bucket a request falls in; requests without a key are not counted here. */
  key: (req: Request) => string | undefined;
  /** Count only failed attempts (a successful login does not use up the extension's budget). */
  failuresOnly?: boolean;
}

/**
 * A fixed-window limiter (express-rate-limit, counting where `limits` says: Redis when several nodes share it).
 * Over the limit, the request fails with 429 RATE_LIMITED and Retry-After through the one error middleware.
 */
export function limiter(limits: RateLimits, options: LimitOptions): RequestHandler {
  const store = limits.store(options.name);
  return rateLimit({
    ...(store ? { store } : {}),
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
  return (req) => `${prefix}:${ipKey(req)}`;
}

/** The extension of a body already validated (and replaced by its parsed value) by an earlier handler. */
export function byExtension(prefix: string): (req: Request) => string | undefined {
  return (req) => {
    const ext: unknown = (req.body as { extension?: unknown } | undefined)?.extension;
    return typeof ext === 'string' ? `${prefix}:${ext}` : undefined;
  };
}

export interface LoginLimits {
  windowMs: number;
  /** Failed logins per extension from one address: the hard limit. */
  loginPerExtensionAndIp: number;
  /** Failed logins per extension from addresses that never logged in to it: high, so it is no lockout. */
  loginPerExtension: number;
  /** How long an address that logged in to an extension stays exempt from that extension's overall limit. */
  loginKnownIpTtlMs: number;
}

/** One login attempt, counted as failed until `succeeded()`. */
export interface LoginAttempt {
  succeeded: () => Promise<void>;
}

/**
 * Limits failed logins so that an attacker cannot lock the owner out (rate-limiter-flexible). The hard
 * limit is per extension and address; the per-extension limit across addresses is much higher, and an address
 * that logged in to the extension recently (the owner's) is exempt from it, so hammering an extension from
 * elsewhere never stops its owner. Callers pass a validated extension: the keys are never raw input.
 */
export class LoginThrottle {
  readonly #pair: RateLimiterAbstract;
  readonly #extension: RateLimiterAbstract;
  readonly #known: RateLimiterAbstract;
  readonly #knownSeconds: number;

  constructor(limits: LoginLimits, counters: RateLimits) {
    const windowMs = limits.windowMs;
    this.#pair = counters.counter({ name: 'login-pair', points: limits.loginPerExtensionAndIp, windowMs });
    this.#extension = counters.counter({
      name: 'login-extension',
      points: limits.loginPerExtension,
      windowMs,
    });
    this.#knownSeconds = Math.max(1, Math.ceil(limits.loginKnownIpTtlMs / 1000));
    this.#known = counters.counter({ name: 'login-known', points: 1, windowMs: limits.loginKnownIpTtlMs });
  }

  /**
   * Counts the attempt before the password is checked, so parallel attempts cannot slip past the limit; a success
   * gives it back. Throws RateLimitedError when over a limit.
   */
  async begin(extension: string, ip: string): Promise<LoginAttempt> {
    const pairKey = `${extension}|${ip}`;
    const known = (await this.#known.get(pairKey)) !== null;
    await consumeOrLimit(this.#pair, pairKey);
    if (!known) {
      try {
        await consumeOrLimit(this.#extension, extension);
      } catch (err) {
        await this.#pair.reward(pairKey);
        throw err;
      }
    }
    return {
      succeeded: async () => {
        await this.#pair.delete(pairKey);
        if (!known) await this.#extension.reward(extension);
        await this.#known.set(pairKey, 1, this.#knownSeconds);
      },
    };
  }
}

/** The client's address as a limiter key (IPv6 grouped by /56, as express-rate-limit does). */
export function ipKey(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}
