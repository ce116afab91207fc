import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { EmbeddedChild } from './EmbeddedChild.js';
import { runDir, writePrivateFile } from './dataDir.js';
import { freePort } from './ports.js';
import { DEFAULT_RESTART_POLICY, SupervisedProcess, type RestartPolicy } from './SupervisedProcess.js';

export interface RedisOptions {
  bin: string;
  dataDir: string;
  /** Clients must AUTH with it: any local process can reach a loopback port. */
  password: string;
  logger: Logger;
  startTimeoutMs: number;
  restart?: RestartPolicy;
}

/**
 * The embedded Redis (Debian's redis-server) for live state shared between server nodes: loopback only, a
 * password, and the append-only file so that a restart, even after SIGKILL, loses at most the last second.
 */
export class RedisService extends EmbeddedChild {
  readonly port: number;
  readonly #password: string;

  private constructor(proc: SupervisedProcess, port: number, password: string) {
    super(proc, 5_000);
    this.port = port;
    this.#password = password;
  }

  static async create(options: RedisOptions): Promise<RedisService> {
    const dir = path.join(options.dataDir, 'redis');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Chosen once: a restart listens on the same port, so the URL handed out stays valid.
    const port = await freePort();
    // The password is in a 0600 file redis-server reads, never on its command line (`ps` shows argv to all).
    const configFile = path.join(dir, 'redis.conf');
    await writePrivateFile(configFile, redisConfig(dir, port, options.password));
    const proc = await SupervisedProcess.start(
      {
        name: 'Redis',
        command: options.bin,
        args: [configFile],
        logFile: path.join(options.dataDir, 'redis.log'),
        pidFile: path.join(await runDir(options.dataDir), 'redis.pid'),
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs,
        // Loading a long append-only file answers LOADING: not ready until it answers PONG.
        healthCheck: () => redisPing(port, options.password),
      },
      options.restart ?? DEFAULT_RESTART_POLICY,
    );
    return new RedisService(proc, port, options.password);
  }

  /** `redis://:password@127.0.0.1:port`: what the server's clients connect with. */
  get url(): string {
    return `redis://:${encodeURIComponent(this.#password)}@127.0.0.1:${this.port}`;
  }
}

function redisConfig(dir: string, port: number, password: string): string {
  return `${[
    'bind 127.0.0.1',
    `port ${port}`,
    'protected-mode yes',
    'daemonize no',
    `dir ${dir}`,
    `requirepass ${password}`,
    // Every write is logged and fsynced once a second; RDB snapshots stay off (the log is the copy).
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    'logfile ""',
    'loglevel warning',
    // Live state only: refuse writes rather than silently evict entries someone's admission depends on.
    'maxmemory-policy noeviction',
  ].join('\n')}\n`;
}

/** AUTH then PING in the RESP protocol: true on `+OK` and `+PONG`. */
export function redisPing(port: number, password: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.on('connect', () => {
      socket.write(
        `*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n*1\r\n$4\r\nPING\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      // An error line (a wrong password, LOADING) starts with "-".
      if (/(^|\r\n)-/.test(answer)) done(false);
      else if (answer === '+OK\r\n+PONG\r\n') done(true);
    });
  });
}
