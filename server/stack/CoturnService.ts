import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { EmbeddedChild } from './EmbeddedChild.js';
import { runDir, writePrivateFile } from './dataDir.js';
import { freePort } from './ports.js';
import { DEFAULT_RESTART_POLICY, SupervisedProcess, type RestartPolicy } from './SupervisedProcess.js';

export interface CoturnOptions {
  bin: string;
  dataDir: string;
  /** The shared secret of the TURN REST API (use-auth-secret): the server derives credentials from it. */
  secret: string;
  realm: string;
  logger: Logger;
  startTimeoutMs: number;
  restart?: RestartPolicy;
}

/**
 * The embedded TURN server: coturn on loopback, with time-limited credentials (use-auth-secret). It relays on
 * loopback too, so a browser forced to `iceTransportPolicy: 'relay'` reaches the SFU through it.
 */
export class CoturnService extends EmbeddedChild {
  readonly port: number;

  private constructor(proc: SupervisedProcess, port: number) {
    super(proc, 5_000);
    this.port = port;
  }

  static async create(options: CoturnOptions): Promise<CoturnService> {
    const dir = path.join(options.dataDir, 'coturn');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Chosen once: a restart listens on the same port, so the TURN URLs handed to clients stay valid.
    const port = await freePort();
    // The shared secret goes in a 0600 file coturn reads, never on its command line (`ps` shows argv to all).
    const configFile = path.join(dir, 'turnserver.conf');
    await writePrivateFile(configFile, turnserverConfig(options, dir, port));
    const proc = await SupervisedProcess.start(
      {
        name: 'coturn',
        command: options.bin,
        args: ['-c', configFile],
        logFile: path.join(options.dataDir, 'coturn.log'),
        pidFile: path.join(await runDir(options.dataDir), 'coturn.pid'),
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs,
        healthCheck: () => tcpOpen(port),
      },
      options.restart ?? DEFAULT_RESTART_POLICY,
    );
    return new CoturnService(proc, port);
  }

  get url(): string {
    return `turn:127.0.0.1:${this.port}?transport=udp`;
  }
}

/** turnserver.conf: one option per line, the long command-line names without their dashes. */
function turnserverConfig(options: CoturnOptions, dir: string, port: number): string {
  return `${[
    'listening-ip=127.0.0.1',
    `listening-port=${port}`,
    'relay-ip=127.0.0.1',
    'use-auth-secret',
    `static-auth-secret=${options.secret}`,
    `realm=${options.realm}`,
    'fingerprint',
    'allow-loopback-peers',
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    `userdb=${path.join(dir, 'turndb')}`,
    `pidfile=${path.join(dir, 'turnserver.pid')}`,
    'log-file=stdout',
    'simple-log',
  ].join('\n')}\n`;
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
