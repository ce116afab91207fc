import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** Which server nodes are alive: what the admission gate asks before it takes someone's record for a ghost. */
export interface NodeLiveness {
  /** This process's id, new at each start: a restarted node is a new node, its old id dead. */
  readonly id: string;
  /** The ids, among `ids`, of nodes alive now. When that cannot be known (Redis down), all of them. */
  alive: (ids: readonly string[]) => Promise<Set<string>>;
}

export interface NodeRegistryOptions {
  /** Shared by the nodes; without it this process is the only node. */
  redis?: Redis | undefined;
  heartbeatMs: number;
  /** A node whose heartbeat is older than this is dead. */
  ttlMs: number;
  logger: Logger;
}

const KEY_PREFIX = 'ucc:node:';

/**
 * This node's heartbeat in Redis (a key that expires unless renewed), and the others' as seen from here. Records a
 * node writes (a participant in a meeting) carry its id; another node that finds the id dead knows nobody will
 * ever end those records, and ends them itself.
 *
 * Without Redis this process is the whole site: any other id is from an earlier run and dead.
 */
export class NodeRegistry implements NodeLiveness {
  readonly id: string = randomUUID();
  readonly #o: NodeRegistryOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: NodeRegistryOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'nodes', nodeId: this.id });
  }

  /** Registered (its first heartbeat written) before it returns, so no other node can take it for dead. */
  static async create(options: NodeRegistryOptions): Promise<NodeRegistry> {
    const registry = new NodeRegistry(options);
    if (options.redis) {
      await registry.#beat();
      registry.#timer = setInterval(registry.#beatNow, options.heartbeatMs);
      registry.#timer.unref();
      // Back from an outage longer than the TTL, the key is gone: beat at once, not at the next tick.
      options.redis.on('ready', registry.#beatNow);
    }
    return registry;
  }

  readonly #beatNow = (): void => {
    this.#beat().catch((err: unknown) => this.#log.warn({ err }, 'node heartbeat not written'));
  };

  async alive(ids: readonly string[]): Promise<Set<string>> {
    const others = [...new Set(ids)].filter((id) => id !== this.id);
    const alive = new Set(ids.includes(this.id) ? [this.id] : []);
    const redis = this.#o.redis;
    if (!redis || others.length === 0) return alive;
    try {
      const beats = await redis.mget(others.map((id) => KEY_PREFIX + id));
      others.forEach((id, i) => {
        if (beats[i] !== null) alive.add(id);
      });
      return alive;
    } catch (err) {
      // Unknown is not dead: ending a live node's participants would be worse than waiting for Redis.
      this.#log.warn({ err }, 'node liveness unknown (Redis): every node taken as alive');
      return new Set(ids);
    }
  }

  async #beat(): Promise<void> {
    if (this.#closed || !this.#o.redis) return;
    await this.#o.redis.set(KEY_PREFIX + this.id, String(Date.now()), 'PX', this.#o.ttlMs);
  }

  /** Stops the heartbeat and removes it: a node that stops cleanly is dead to the others at once. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#o.redis?.off('ready', this.#beatNow);
    await this.#o.redis?.del(KEY_PREFIX + this.id).catch(() => undefined);
  }
}
