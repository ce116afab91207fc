import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logger.js';

/**
 * One mongoose connection per server instance (never the global default), so that tests can run several
 * servers against separate databases in one process.
 */
export class Database {
  readonly connection: Connection;
  #closed = false;

  private constructor(connection: Connection) {
    this.connection = connection;
  }

  static async connect(
    uri: string,
    options: {
      dbName: string;
      logger: Logger;
      /** How long a call waits for a reachable server before it fails (see Config.db). */
      serverSelectionTimeoutMs?: number;
      socketTimeoutMs?: number;
    },
  ): Promise<Database> {
    const socketMs = options.socketTimeoutMs ?? 10_000;
    // Mongoose records `new Error().stack` on every query, only to word a "query already executed" error; with
    // source maps on (tsx) building that stack was about a sixth of query execution in bench:abuse's CPU profile.
    mongoose.set('skipOriginalStackTraces', true);
    const connection = mongoose.createConnection(uri, {
      dbName: options.dbName,
      // In an outage a call fails at once (mapped to 503 by toAppError) instead of queueing in mongoose's
      // buffer for 10 s and then answering 500; the driver reconnects by itself when the server is back.
      bufferCommands: false,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 1_000,
      socketTimeoutMS: socketMs,
      // Not the short selection timeout: the driver's monitor uses this for its heartbeats too, and a busy (not
      // dead) server must not be declared down and have its pool cleared.
      connectTimeoutMS: socketMs,
      // FerretDB v1 has no retryable writes; MongoDB does not need them for our single-document writes.
      retryWrites: false,
    });
    await connection.asPromise();
    const log = options.logger.child({ component: 'db' });
    connection.on('disconnected', () => log.warn('database disconnected'));
    connection.on('reconnected', () => log.info('database reconnected'));
    return new Database(connection);
  }

  /** A real round trip to the server. */
  async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('not connected');
    await db.admin().command({ ping: 1 });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.connection.close();
  }
}
