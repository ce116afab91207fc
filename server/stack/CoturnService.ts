import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { ManagedProcess, type ManagedProcessEvents } from './ManagedProcess.js';
import { freePort } from './ports.js';

export interface CoturnOptions {
  bin: string;
  dataDir: string;
  /** The shared secret of the TURN REST API (use-auth-secret): the server derives credentials from it. */
  secret: string;
  realm: string;
  logger: Logger;
  startTimeoutMs: number;
}

/**
 * The embedded TURN server: coturn on loopback, with time-limited credentials (use-auth-secret). It relays on
 * loopback too, so a browser forced to `iceTransportPolicy: 'relay'` reaches the SFU through it.
 */
export class CoturnService extends EventEmitter<ManagedProcessEvents> {
  readonly #process: ManagedProcess;
  readonly port: number;

  private constructor(proc: ManagedProcess, port: number) {
    super();
    this.#process = proc;
    this.port = port;
    proc.on('crashed', (info) => this.emit('crashed', info));
  }

  static async create(options: CoturnOptions): Promise<CoturnService> {
    const dir = path.join(options.dataDir, 'coturn');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const proc = await ManagedProcess.start({
      name: 'coturn',
      command: options.bin,
      args: [
        '-n', // no config file: everything is on this command line
        '--listening-ip=127.0.0.1',
        `--listening-port=${port}`,
        '--relay-ip=127.0.0.1',
        '--use-auth-secret',
        `--static-auth-secret=${options.secret}`,
        `--realm=${options.realm}`,
        '--fingerprint',
        '--allow-loopback-peers',
        '--no-tls',
        '--no-dtls',
        '--no-cli',
        '--no-multicast-peers',
        `--userdb=${path.join(dir, 'turndb')}`,
        `--pidfile=${path.join(dir, 'turnserver.pid')}`,
        '--log-file=stdout',
        '--simple-log',
      ],
      logFile: path.join(options.dataDir, 'coturn.log'),
      logger: options.logger,
      startTimeoutMs: options.startTimeoutMs,
      healthCheck: () => tcpOpen(port),
    });
    return new CoturnService(proc, port);
  }

  get url(): string {
    return `turn:127.0.0.1:${this.port}?transport=udp`;
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    await this.#process.stop(timeoutMs);
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
