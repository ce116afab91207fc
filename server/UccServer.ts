import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerPool } from '../sfu/WorkerPool.js';
import { checkHomeserver } from './chat/homeserverHealth.js';
import type { Config } from './config.js';
import type { Database } from './db/Database.js';
import { createApp } from './http/createApp.js';
import { createMetrics } from './http/metrics.js';
import type { ReadinessProbe } from './http/readiness.js';
import type { Logger } from './logger.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import type { MatrixEndpoint } from './stack/EmbeddedStack.js';
import { VERSION } from './version.js';

export interface UccServerDependencies {
  config: Config;
  logger: Logger;
  db: Database;
  pool: WorkerPool;
  matrix: MatrixEndpoint;
}

const PROBE_TIMEOUT_MS = 3_000;

/**
 * The HTTP + socket.io front of the product. It owns its HTTP server and signaling; the database, the worker
 * pool and the homeserver are given to it and outlive it.
 */
export class UccServer {
  readonly #http: HttpServer;
  readonly #signaling: SignalingServer;
  #closed: Promise<void> | undefined;

  private constructor(http: HttpServer, signaling: SignalingServer) {
    this.#http = http;
    this.#signaling = signaling;
  }

  static async create(deps: UccServerDependencies): Promise<UccServer> {
    const { config, logger, db, pool, matrix } = deps;
    const probes: ReadinessProbe[] = [
      { name: 'database', check: () => db.ping() },
      { name: 'matrix', check: () => checkHomeserver(matrix, PROBE_TIMEOUT_MS) },
      {
        name: 'mediasoup',
        check: async () => {
          const usages = await pool.resourceUsage();
          if (usages.length < config.mediasoup.numWorkers) {
            throw new Error(`${usages.length} of ${config.mediasoup.numWorkers} workers alive`);
          }
        },
      },
    ];
    const app = createApp({ logger, metrics: createMetrics(pool), probes, probeTimeoutMs: PROBE_TIMEOUT_MS });
    const http = createServer(app);
    const signaling = new SignalingServer(http, { logger, version: VERSION });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.http.port, config.http.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    return new UccServer(http, signaling);
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  /** Idempotent; closes sockets, then the HTTP server. */
  async close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#signaling.close();
      this.#http.closeAllConnections();
      if (this.#http.listening) {
        await new Promise<void>((resolve) => this.#http.close(() => resolve()));
      }
    })();
    await this.#closed;
  }
}
