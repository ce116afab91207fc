import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** Runs work for a key one at a time across every server node. */
export interface NodeLock {
  run: <T>(key: string, work: () => Promise<T>) => Promise<T>;
}

export interface RedisLockOptions {
  redis: Redis;
  logger: Logger;
  /** A holder that stops (dies) without releasing loses the lock after this. Longer than any work it guards. */
  leaseMs?: number;
  /** Between two tries of a taken lock. */
  retryMs?: number;
}

const KEY_PREFIX = 'ucc:lock:';

// Deletes the key only if it still holds our token: a lease that ran out may be someone else's lock by now.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A lock per key in Redis (`SET key token NX PX lease`, released by a compare-and-delete script), for short writes
 * that must not overlap across nodes: FerretDB v1 rewrites a whole document per update, so two nodes' updates of
 * one document can lose one of them. Within a node the caller still orders its own writes (KeyedSerial), so at
 * most one task per key and node waits here.
 *
 * When Redis cannot be asked (down, or not answering within its command timeout), the work runs without the
 * lock: the writes guarded here are caches that a later event corrects, and stopping the chat for a Redis outage
 * would be the greater harm. That is logged once per outage.
 */
export class RedisLock implements NodeLock {
  readonly #redis: Redis;
  readonly #log: Logger;
  readonly #leaseMs: number;
  readonly #retryMs: number;
  #unlockedSince: number | undefined;

  constructor(options: RedisLockOptions) {
    this.#redis = options.redis;
    this.#log = options.logger.child({ component: 'redis-lock' });
    this.#leaseMs = options.leaseMs ?? 5_000;
    this.#retryMs = options.retryMs ?? 3;
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const lockKey = KEY_PREFIX + key;
    const held = await this.#acquire(lockKey, token);
    try {
      return await work();
    } finally {
      if (held) {
        await this.#redis.eval(RELEASE, 1, lockKey, token).catch((err: unknown) => {
          // Its lease ends it anyway.
          this.#log.warn({ err, key }, 'lock not released');
        });
      }
    }
  }

  /** True once held; false when Redis could not be asked (the work then runs unlocked). */
  async #acquire(lockKey: string, token: string): Promise<boolean> {
    for (;;) {
      let answer: string | null;
      try {
        answer = await this.#redis.set(lockKey, token, 'PX', this.#leaseMs, 'NX');
      } catch (err) {
        if (this.#unlockedSince === undefined) {
          this.#unlockedSince = Date.now();
          this.#log.warn({ err }, 'Redis unavailable: cross-node writes run without their lock meanwhile');
        }
        return false;
      }
      if (this.#unlockedSince !== undefined) {
        this.#unlockedSince = undefined;
        this.#log.info('Redis available again: cross-node writes locked again');
      }
      if (answer === 'OK') return true;
      // Held by another node for a write of a few milliseconds: try again shortly (the lease bounds the wait).
      await new Promise((resolve) => setTimeout(resolve, this.#retryMs * (1 + Math.random())));
    }
  }
}
