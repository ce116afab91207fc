import {
  MemoryStore,
  type ClientRateLimitInfo,
  type IncrementResponse,
  type Options as ExpressLimitOptions,
  type Store,
} from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { RateLimitedError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface CounterOptions {
  /** Unique among the server's limiters: the keys' namespace in Redis. */
  name: string;
  points: number;
  windowMs: number;
}

/** Every limiter's keys in Redis start with this, so several deployments may share one Redis. */
const KEY_PREFIX = 'ucc:rl:';

/**
 * Where the server's rate limits count. With Redis (several nodes) every node counts in the same buckets, so a
 * limit holds for the site, not per process; without it, in memory. A Redis outage never turns a request into a
 * 500: each limiter falls back to counting in this process's memory until Redis answers again (stricter per node
 * than nothing, looser than the site-wide count), and the outage is logged by RedisClients.
 *
 * Both libraries the server uses get their store here: rate-limiter-flexible's limiters (chat messages, logins,
 * dial-in PINs) and express-rate-limit's middleware (per-address limits on public routes).
 */
export class RateLimits {
  readonly #redis: Redis | undefined;
  readonly #log: Logger | undefined;
  readonly #names = new Set<string>();

  private constructor(redis: Redis | undefined, log: Logger | undefined) {
    this.#redis = redis;
    this.#log = log;
  }

  static inMemory(): RateLimits {
    return new RateLimits(undefined, undefined);
  }

  /** `redis`: a connection that fails commands at once while Redis is down (see RedisClients). */
  static onRedis(redis: Redis, logger: Logger): RateLimits {
    return new RateLimits(redis, logger.child({ component: 'rate-limits' }));
  }

  /** A rate-limiter-flexible limiter: `points` per `windowMs` per key. */
  counter(options: CounterOptions): RateLimiterAbstract {
    this.#claim(options.name);
    const settings = {
      points: options.points,
      duration: Math.max(1, Math.ceil(options.windowMs / 1000)),
      keyPrefix: `${KEY_PREFIX}${options.name}`,
    };
    if (!this.#redis) return new RateLimiterMemory(settings);
    return new RateLimiterRedis({
      ...settings,
      storeClient: this.#redis,
      // Not "ready" (reconnecting): straight to memory instead of a command that can only fail.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(settings),
    });
  }

  /** An express-rate-limit store; `undefined` leaves the library's own in-memory store. */
  store(name: string): Store | undefined {
    this.#claim(name);
    if (!this.#redis) return undefined;
    const redis = this.#redis;
    const primary = new RedisStore({
      prefix: `${KEY_PREFIX}${name}:`,
      sendCommand: (command: string, ...args: string[]) =>
        redis.call(command, ...args) as Promise<RedisReply>,
    });
    return new InsuredStore(primary, new MemoryStore(), this.#log);
  }

  #claim(name: string): void {
    // Two limiters in one namespace would count each other's requests.
    if (this.#names.has(name)) throw new Error(`rate limit "${name}" is defined twice`);
    this.#names.add(name);
  }
}

/** Spends one point of `key`; RATE_LIMITED with the seconds to wait when there is none left. */
export async function consumeOrLimit(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    // The limiter rejects with its result when the points are spent, and with an Error when its store fails.
    if (err instanceof RateLimiterRes) {
      throw new RateLimitedError(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
    }
    throw err;
  }
}

/**
 * express-rate-limit's counterpart of rate-limiter-flexible's insurance limiter: counts in `primary` (Redis) and,
 * when that fails, in `fallback` (memory) for this request. express-rate-limit would otherwise answer the request
 * with a 500, or (with `passOnStoreError`) not limit it at all.
 */
class InsuredStore implements Store {
  readonly #primary: Store;
  readonly #fallback: Store;
  readonly #log: Logger | undefined;

  constructor(primary: Store, fallback: Store, log: Logger | undefined) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#log = log;
  }

  // Keys are shared: not express-rate-limit's per-instance prefix check (one store per limiter here anyway).
  get localKeys(): boolean {
    return false;
  }

  get prefix(): string | undefined {
    return this.#primary.prefix;
  }

  async init(options: ExpressLimitOptions): Promise<void> {
    await this.#fallback.init?.(options);
    try {
      // rate-limit-redis loads its Lua script here; a failure is retried by its increment.
      await this.#primary.init?.(options);
    } catch (err) {
      this.#log?.warn({ err }, 'rate-limit store not ready; counting in memory meanwhile');
    }
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.#either('get', (s) => s.get?.(key));
  }

  async increment(key: string): Promise<IncrementResponse> {
    return this.#either('increment', (s) => s.increment(key));
  }

  async decrement(key: string): Promise<void> {
    await this.#either('decrement', (s) => s.decrement(key));
  }

  async resetKey(key: string): Promise<void> {
    await this.#either('resetKey', (s) => s.resetKey(key));
  }

  async #either<T>(what: string, call: (store: Store) => Promise<T> | T): Promise<T> {
    try {
      return await call(this.#primary);
    } catch (err) {
      this.#log?.debug({ err, what }, 'rate-limit store failed; counted in memory');
      return await call(this.#fallback);
    }
  }
}
