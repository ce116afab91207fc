import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors.js';

/**
 * How many chat messages one sender may send per window: every send, edit and file, over REST and in a meeting's
 * chat, counts against the sender's key (a user id, or a guest's participant). Over the limit: RATE_LIMITED with
 * the seconds to wait.
 *
 * Built on rate-limiter-flexible's in-memory limiter, which holds per process; the limiter is injected, so a
 * RateLimiterRedis (same interface) drops in when several nodes share the load.
 */
export class MessageRateLimit {
  readonly #limiter: RateLimiterAbstract;

  constructor(limiter: RateLimiterAbstract) {
    this.#limiter = limiter;
  }

  static inMemory(limit: { messages: number; windowMs: number }): MessageRateLimit {
    return new MessageRateLimit(
      new RateLimiterMemory({
        points: limit.messages,
        duration: Math.max(1, Math.ceil(limit.windowMs / 1000)),
        keyPrefix: 'chat-msg',
      }),
    );
  }

  /** Counts one message of `key`; throws RateLimitedError when it is one too many. */
  async take(key: string): Promise<void> {
    try {
      await this.#limiter.consume(key);
    } catch (err) {
      // The limiter rejects with its result when the points are spent, and with an Error when its store fails.
      if (err instanceof RateLimiterRes) {
        throw new RateLimitedError(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      }
      throw err;
    }
  }
}

/** The rate-limit key of a directory user (guests are keyed by meeting and participant, see MeetingChat). */
export function userRateKey(userId: string): string {
  return `user:${userId}`;
}
