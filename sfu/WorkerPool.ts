import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';

export interface WorkerPoolOptions {
  numWorkers: number;
  /** Address the WebRtcServers bind to. */
  listenIp: string;
  /** Address put in ICE candidates when it differs from listenIp (NAT, 0.0.0.0). */
  announcedAddress?: string | undefined;
  /** 0: each WebRtcServer takes a free port; otherwise worker i listens on webRtcPort + i. */
  webRtcPort: number;
  logLevel: types.WorkerLogLevel;
  logger: Logger;
}

export interface PooledWorker {
  readonly index: number;
  readonly worker: types.Worker;
  readonly webRtcServer: types.WebRtcServer;
  /** The UDP and TCP ports actually bound by the WebRtcServer. */
  readonly ports: { udp: number | undefined; tcp: number | undefined };
}

export interface WorkerUsage {
  index: number;
  pid: number;
  usage: types.WorkerResourceUsage;
}

export interface WorkerPoolEvents {
  /** A worker process died; a replacement is being started in its slot. */
  workerdied: [info: { index: number; pid: number; error: Error }];
  /** A replacement worker is ready in the slot of a dead one. */
  workerreplaced: [info: { index: number; pid: number }];
}

/**
 * The mediasoup workers of this process, one per slot, each with a WebRtcServer so that every transport of that
 * worker shares one UDP and one TCP port. A worker that dies is reported and replaced in its slot.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #slots: (PooledWorker | undefined)[];
  /** Routers and consumers placed on each worker slot, as reported by the meetings using it. */
  readonly #load: number[];
  #closed = false;
  #deaths = 0;

  private constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
    this.#slots = new Array<PooledWorker | undefined>(options.numWorkers).fill(undefined);
    this.#load = new Array<number>(options.numWorkers).fill(0);
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      // Sequential start keeps fixed WebRtcServer ports predictable in error messages.
      for (let i = 0; i < options.numWorkers; i++) await pool.#startSlot(i);
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get workers(): readonly PooledWorker[] {
    return this.#slots.filter((w): w is PooledWorker => w !== undefined);
  }

  /** The load of a worker slot: routers plus consumers placed on it. */
  load(index: number): number {
    return this.#load[index] ?? 0;
  }

  addLoad(index: number, delta: number): void {
    this.#load[index] = Math.max(0, (this.#load[index] ?? 0) + delta);
  }

  /** How many workers died since start (each one was replaced). */
  get deaths(): number {
    return this.#deaths;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resource usage of every live worker; a worker that does not answer rejects the whole call. */
  async resourceUsage(): Promise<WorkerUsage[]> {
    return Promise.all(
      this.workers.map(async (w) => ({
        index: w.index,
        pid: w.worker.pid,
        usage: await w.worker.getResourceUsage(),
      })),
    );
  }

  /** Idempotent: closes every worker, and with it every router and transport on it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.workers) w.worker.close();
    this.#slots.fill(undefined);
  }

  async #startSlot(index: number): Promise<void> {
    const { logger } = this.#options;
    const worker = await mediasoup.createWorker({ logLevel: this.#options.logLevel });
    let webRtcServer: types.WebRtcServer;
    try {
      const port = this.#options.webRtcPort === 0 ? undefined : this.#options.webRtcPort + index;
      const base = { ip: this.#options.listenIp, announcedAddress: this.#options.announcedAddress, port };
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { ...base, protocol: 'udp' },
          { ...base, protocol: 'tcp' },
        ],
      });
    } catch (err) {
      worker.close();
      throw err;
    }
    if (this.#closed) {
      worker.close();
      return;
    }
    const dump = await webRtcServer.dump();
    const ports = {
      udp: dump.udpSockets[0]?.port,
      tcp: dump.tcpServers[0]?.port,
    };
    this.#slots[index] = { index, worker, webRtcServer, ports };
    logger.info({ index, pid: worker.pid, ports }, 'mediasoup worker ready');

    worker.on('died', (error) => {
      this.#deaths++;
      this.#slots[index] = undefined;
      this.#load[index] = 0;
      logger.error({ index, pid: worker.pid, err: error }, 'mediasoup worker died; starting a replacement');
      this.emit('workerdied', { index, pid: worker.pid, error });
      if (this.#closed) return;
      this.#startSlot(index).then(
        () => {
          const replacement = this.#slots[index];
          if (replacement) this.emit('workerreplaced', { index, pid: replacement.worker.pid });
        },
        (err: unknown) => logger.error({ index, err }, 'could not replace a dead mediasoup worker'),
      );
    });
  }
}
