import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { consumeOrLimit, type RateLimits } from '../util/RateLimits.js';

/**
 * How many chat messages one sender may send per window: every send, edit and file, over REST and in a meeting's
 * chat, counts against the sender's key (a user id, or a guest's participant). Over the limit: RATE_LIMITED with
 * the seconds to wait.
 *
 * Built on rate-limiter-flexible; where it counts (Redis, shared by the nodes, or memory) is RateLimits' choice.
 */
export class MessageRateLimit {
  readonly #limiter: RateLimiterAbstract;

  constructor(limiter: RateLimiterAbstract) {
    this.#limiter = limiter;
  }

  static create(counters: RateLimits, limit: { messages: number; windowMs: number }): MessageRateLimit {
    return new MessageRateLimit(
      counters.counter({ name: 'chat-msg', points: limit.messages, windowMs: limit.windowMs }),
    );
  }

  /** Counts one message of `key`; throws RateLimitedError when it is one too many. */
  async take(key: string): Promise<void> {
    await consumeOrLimit(this.#limiter, key);
  }
}

/** The rate-limit key of a directory user (guests are keyed by meeting and participant, see MeetingChat). */
export function userRateKey(userId: string): string {
  return `user:${userId}`;
}
