import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export interface RedisClientsOptions {
  url: string;
  logger: Logger;
  /** A command waits this long for a connection before it fails (instead of queueing while Redis is down). */
  connectTimeoutMs?: number;
  /** A command Redis does not answer within this fails: a hung Redis must not hang a request. */
  commandTimeoutMs?: number;
}

/**
 * The server's connections to Redis: one for commands and publishing, one for subscriptions (a subscribed
 * connection can do nothing else). Both reconnect by themselves with a capped backoff; an outage is logged once
 * when it starts and once when it ends, not at every retry.
 */
export class RedisClients {
  readonly pub: Redis;
  readonly sub: Redis;
  readonly #log: Logger;
  #down = false;
  #closed: Promise<void> | undefined;

  private constructor(pub: Redis, sub: Redis, log: Logger) {
    this.pub = pub;
    this.sub = sub;
    this.#log = log;
    for (const client of [pub, sub]) {
      // Without a listener ioredis reports every failed reconnection as an unhandled error event.
      client.on('error', (err: unknown) => this.#outage(err));
      client.on('ready', () => this.#recovered());
    }
  }

  static async create(options: RedisClientsOptions): Promise<RedisClients> {
    const log = options.logger.child({ component: 'redis' });
    const settings = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 1_000,
      // While Redis is down, commands fail at once rather than pile up; callers answer 503 or carry on.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Connected but silent (stopped, swapping, a network partition that keeps the socket): fail, do not wait.
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
    };
    const pub = new Redis(options.url, settings);
    const sub = new Redis(options.url, settings);
    const clients = new RedisClients(pub, sub, log);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (err) {
      await clients.close();
      throw err;
    }
    return clients;
  }

  /**
   * The publishing connection as socket.io's adapter gets it. The adapter publishes without awaiting; while Redis
   * is down that promise rejects, and unhandled it would be reported as our bug at every emit. The emit still
   * reaches this node's sockets (the adapter delivers locally first); the other nodes miss it.
   */
  forAdapter(): Redis {
    const pub = this.pub;
    return new Proxy(pub, {
      get: (target, prop) => {
        if (prop === 'publish') {
          return (...args: Parameters<Redis['publish']>) =>
            target.publish(...args).catch((err: unknown) => {
              this.#outage(err);
              return 0;
            });
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Readiness: a PING answered. */
  async ping(): Promise<void> {
    await this.pub.ping();
  }

  #outage(err: unknown): void {
    if (this.#down || this.#closed) return;
    this.#down = true;
    this.#log.warn({ err }, 'lost the connection to Redis; reconnecting');
  }

  #recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log.info('connected to Redis again');
  }

  /** Idempotent. */
  async close(): Promise<void> {
    this.#closed ??= Promise.all(
      [this.pub, this.sub].map((c) =>
        c.quit().then(
          () => undefined,
          () => c.disconnect(),
        ),
      ),
    ).then(() => undefined);
    await this.#closed;
  }
}
