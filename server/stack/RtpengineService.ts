import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { EmbeddedChild } from './EmbeddedChild.js';
import { runDir } from './dataDir.js';
import { freePort } from './ports.js';
import { DEFAULT_RESTART_POLICY, SupervisedProcess, type RestartPolicy } from './SupervisedProcess.js';

export interface RtpengineOptions {
  bin: string;
  dataDir: string;
  /** The RTP ports it may use; 0 and 0 pick a random 400-port window in 20000-29999. */
  portMin: number;
  portMax: number;
  logger: Logger;
  startTimeoutMs: number;
  restart?: RestartPolicy;
}

/**
 * The embedded media relay: rtpengine 10.5 in userspace (`--table=-1`: no kernel module, no iptables), on
 * loopback, controlled by Kamailio over the ng protocol.
 */
export class RtpengineService extends EmbeddedChild {
  readonly ngPort: number;

  private constructor(proc: SupervisedProcess, ngPort: number) {
    super(proc, 5_000);
    this.ngPort = ngPort;
  }

  static async create(options: RtpengineOptions): Promise<RtpengineService> {
    // A TCP port free now is very likely free for UDP too; a clash fails the health check and the start.
    const ngPort = await freePort();
    let { portMin, portMax } = options;
    if (portMin === 0 || portMax === 0) {
      // Several servers (and test runs) share this machine: a random window makes a clash unlikely.
      portMin = 20_000 + 400 * Math.floor(Math.random() * 25);
      portMax = portMin + 399;
    }
    const proc = await SupervisedProcess.start(
      {
        name: 'rtpengine',
        command: options.bin,
        args: [
          // Not Debian's /etc/rtpengine/rtpengine.conf: it opens fixed CLI and HTTP ports (2224, 2225), so a
          // second instance on the machine would fail to start.
          '--config-file=none',
          '--table=-1',
          '--foreground',
          '--interface=127.0.0.1',
          `--listen-ng=127.0.0.1:${ngPort}`,
          `--port-min=${portMin}`,
          `--port-max=${portMax}`,
          '--log-stderr',
          '--log-level=4',
          '--no-fallback',
          // Also names the data dir on the command line, so that leftovers are found by it (DataDirLock, tests).
          `--pidfile=${path.join(options.dataDir, 'rtpengine.pid')}`,
        ],
        logFile: path.join(options.dataDir, 'rtpengine.log'),
        pidFile: path.join(await runDir(options.dataDir), 'rtpengine.pid'),
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs,
        healthCheck: () => ngPing(ngPort),
      },
      options.restart ?? DEFAULT_RESTART_POLICY,
    );
    return new RtpengineService(proc, ngPort);
  }
}

/** The ng protocol's `ping` (a cookie, then a bencoded dictionary): true on `pong`. */
export function ngPing(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const cookie = randomBytes(6).toString('hex');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('message', (msg) => {
      const text = msg.toString();
      if (text.startsWith(`${cookie} `)) done(text.includes('4:pong'));
    });
    socket.on('error', () => done(false));
    socket.send(`${cookie} d7:command4:pinge`, port, '127.0.0.1');
  });
}
