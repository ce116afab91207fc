import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Logger } from '../logger.js';
import { ManagedProcess, type ManagedProcessEvents } from './ManagedProcess.js';
import { freePort } from './ports.js';

export interface FerretDbOptions {
  bin: string;
  /** SQLite files and FerretDB's state live here. */
  dataDir: string;
  logger: Logger;
  startTimeoutMs: number;
}

/** The embedded MongoDB-protocol database: FerretDB v1 on SQLite, on a free loopback port. */
export class FerretDbService extends EventEmitter<ManagedProcessEvents> {
  readonly #process: ManagedProcess;
  readonly uri: string;

  private constructor(proc: ManagedProcess, uri: string) {
    super();
    this.#process = proc;
    this.uri = uri;
    proc.on('crashed', (info) => this.emit('crashed', info));
  }

  static async create(options: FerretDbOptions): Promise<FerretDbService> {
    const dbDir = path.join(options.dataDir, 'ferretdb');
    await mkdir(dbDir, { recursive: true });
    const port = await freePort();
    const uri = `mongodb://127.0.0.1:${port}/`;
    const proc = await ManagedProcess.start({
      name: 'FerretDB',
      command: options.bin,
      args: [
        '--handler=sqlite',
        `--sqlite-url=file:${dbDir}/`,
        `--state-dir=${dbDir}`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=warn',
      ],
      logFile: path.join(options.dataDir, 'ferretdb.log'),
      logger: options.logger,
      startTimeoutMs: options.startTimeoutMs,
      healthCheck: () => pingMongo(uri),
    });
    return new FerretDbService(proc, uri);
  }

  get running(): boolean {
    return this.#process.running;
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    await this.#process.stop(timeoutMs);
  }
}

/** A real `ping` over the wire protocol, not just an open port. */
export async function pingMongo(uri: string): Promise<boolean> {
  const client = new mongoose.mongo.MongoClient(uri, {
    serverSelectionTimeoutMS: 1_000,
    connectTimeoutMS: 1_000,
  });
  try {
    await client.connect();
    const answer = await client.db('admin').command({ ping: 1 });
    return answer.ok === 1;
  } finally {
    await client.close();
  }
}
