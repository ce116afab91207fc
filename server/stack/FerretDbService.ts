import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Logger } from '../logger.js';
import { EmbeddedChild } from './EmbeddedChild.js';
import { freePort } from './ports.js';
import { runDir } from './dataDir.js';
import { DEFAULT_RESTART_POLICY, SupervisedProcess, type RestartPolicy } from './SupervisedProcess.js';

export interface FerretDbOptions {
  bin: string;
  /** SQLite files and FerretDB's state live here. */
  dataDir: string;
  logger: Logger;
  startTimeoutMs: number;
  restart?: RestartPolicy;
}

/** The embedded MongoDB-protocol database: FerretDB v1 on SQLite, on a free loopback port. */
export class FerretDbService extends EmbeddedChild {
  readonly uri: string;

  private constructor(proc: SupervisedProcess, uri: string) {
    super(proc, 5_000);
    this.uri = uri;
  }

  static async create(options: FerretDbOptions): Promise<FerretDbService> {
    const dbDir = path.join(options.dataDir, 'ferretdb');
    await mkdir(dbDir, { recursive: true, mode: 0o700 });
    // Chosen once: a restart listens on the same port, so the database URI handed out stays valid.
    const port = await freePort();
    const uri = `mongodb://127.0.0.1:${port}/`;
    const proc = await SupervisedProcess.start(
      {
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
        pidFile: path.join(await runDir(options.dataDir), 'ferretdb.pid'),
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs,
        healthCheck: () => pingMongo(uri),
      },
      options.restart ?? DEFAULT_RESTART_POLICY,
    );
    return new FerretDbService(proc, uri);
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
