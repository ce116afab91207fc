import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../server/stack/ports.js';

export interface Balancer {
  /** `http://127.0.0.1:<port>`: what clients use instead of a node's own address. */
  baseUrl: string;
  /** Stops the balancer's process; idempotent. */
  close: () => Promise<void>;
}

export interface BalancerOptions {
  /** Debian's binary (the stack manifest's `haproxyBin`, or `/usr/sbin/haproxy`). */
  bin?: string;
  /** The server nodes' ports on loopback. */
  nodePorts: number[];
  /** Where it listens; a free port by default. */
  port?: number;
  /** How long the balancer waits to take a node out after its /healthz stops answering. */
  checkIntervalMs?: number;
}

/**
 * A real load balancer in front of several server nodes, as a site runs them: Debian's HAProxy in HTTP mode,
 * `leastconn` (the WebSockets are long-lived: a new one goes to the node holding fewest), except a meeting's
 * connections, hashed on their `?meeting=` so one meeting lives on one node (see docs/architecture.md); a health
 * check on /healthz, a refused connection retried on another node, no cookie stickiness (the clients use
 * socket.io over WebSocket only, so nothing else needs it), and
 * X-Forwarded-For, which the nodes trust from loopback. Its configuration is written to a private temporary
 * directory and removed with it.
 */
export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ucc-haproxy-'));
  const port = options.port ?? (await freePort());
  const inter = options.checkIntervalMs ?? 500;
  const servers = options.nodePorts
    .map((p, i) => `  server node${i + 1} 127.0.0.1:${p} check inter ${inter} fall 2 rise 1`)
    .join('\n');
  // The meetings' backend has the same nodes, and follows the other's health checks rather than running its own.
  const tracked = options.nodePorts
    .map((p, i) => `  server node${i + 1} 127.0.0.1:${p} track nodes/node${i + 1}`)
    .join('\n');
  const config = `global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  option forwardfor
  option http-server-close
  # A node that refuses the connection (stopped, or dead before the health check saw it): tried on another.
  retries 3
  option redispatch 1

frontend ucc
  bind 127.0.0.1:${port}
  acl meeting_socket url_param(meeting) -m found
  use_backend meetings if meeting_socket
  default_backend nodes

backend nodes
  balance leastconn
  option httpchk GET /healthz
  http-check expect status 200
${servers}

# A meeting's sockets (the web app's meeting connection sends ?meeting=<id>, any case) all reach the same node, where the
# meeting's admission and media are; consistent hashing moves only the meetings of a node that goes away.
backend meetings
  balance hash url_param(meeting),lower
  hash-type consistent
${tracked}
`;
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, config, { mode: 0o600 });
  const child: ChildProcess = spawn(options.bin ?? '/usr/sbin/haproxy', ['-db', '-f', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return closed;
  };
  try {
    await listening(port, child, () => stderr);
  } catch (err) {
    await close();
    throw err;
  }
  return { baseUrl: `http://127.0.0.1:${port}`, close };
}

/** Resolves once the port accepts connections; rejects if the process exits first or after 10 s. */
async function listening(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port}: ${stderr()}`);
    // Polling a port that is not open yet: HAProxy gives no readiness signal of its own.
    await new Promise((r) => setTimeout(r, 50));
  }
}
