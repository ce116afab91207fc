import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { rootCertificates, connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/** Where browsers open SIP over WebSocket, on the app's own origin. */
export const SIP_WS_PATH = '/sip';
/** A ticket only has to live from GET /api/telephony/me to the upgrade; each reconnection asks for a new one. */
const DEFAULT_TICKET_TTL_MS = 60_000;

export interface SipWebSocketProxyOptions {
  /**
   * The edge's SIP over WebSocket (`ws://127.0.0.1:<port>/ws` embedded, the customer's `wss://…` external);
   * undefined when telephony is off: every upgrade is refused.
   */
  upstream: string | undefined;
  /** PEM of a private CA that signed a `wss://` upstream's certificate, trusted besides Node's own roots. */
  upstreamCa?: string | undefined;
  clock: Clock;
  logger: Logger;
  ticketTtlMs?: number;
  /** Told of every piped connection's opening and end, by user (WebCallGuard). */
  watcher?: { opened: (userId: string) => void; closed: (userId: string) => void };
}

/**
 * SIP over WebSocket on the app's origin: an upgrade on `/sip` with a valid ticket is piped, raw, to Kamailio's
 * WebSocket listener (loopback, or the customer's edge over TLS), so Kamailio does the handshake and sees a WS
 * connection. A browser never needs to reach Kamailio itself: one origin and certificate, the ticket instead of a
 * SIP edge open to the Internet, and WebCallGuard sees each web phone's connection come and go. Tickets are HMACs with a per-process key: a restart of the server
 * retires them, and the web phone asks for a fresh one on every (re)connection anyway.
 */
export class SipWebSocketProxy {
  readonly #o: SipWebSocketProxyOptions;
  readonly #key = randomBytes(32);
  readonly #live = new Set<Duplex>();
  readonly #log: Logger;
  #closed = false;

  private constructor(options: SipWebSocketProxyOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'sip-ws-proxy' });
  }

  static async create(options: SipWebSocketProxyOptions): Promise<SipWebSocketProxy> {
    return Promise.resolve(new SipWebSocketProxy(options));
  }

  get enabled(): boolean {
    return this.#o.upstream !== undefined && !this.#closed;
  }

  /** Open connections (tests and metrics). */
  get connections(): number {
    return this.#live.size;
  }

  /** A short-lived ticket for one upgrade by `userId`. */
  ticket(userId: string): string {
    const expires = Math.floor((this.#o.clock.now() + (this.#o.ticketTtlMs ?? DEFAULT_TICKET_TTL_MS)) / 1000);
    const body = `${userId}.${expires}`;
    return `${body}.${this.#mac(body)}`;
  }

  /** The user a ticket was issued to, if it is genuine and not expired. */
  verify(ticket: string): string | undefined {
    const match = /^([0-9a-f]{24})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
    if (!match) return undefined;
    const [, userId = '', expires = '', mac = ''] = match;
    const expected = Buffer.from(this.#mac(`${userId}.${expires}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return Number(expires) * 1000 >= this.#o.clock.now() ? userId : undefined;
  }

  /**
   * For the HTTP server's `upgrade` event: true when the request was for {@link SIP_WS_PATH} (then it is piped or
   * refused here), false to leave it to others (socket.io).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== SIP_WS_PATH) return false;
    socket.on('error', () => socket.destroy());
    const upstream = this.#o.upstream;
    if (upstream === undefined || this.#closed) {
      refuse(socket, 503, 'Service Unavailable', 'SERVICE_UNAVAILABLE', 'Telephony is not available');
      return true;
    }
    const userId = this.verify(url.searchParams.get('ticket') ?? '');
    if (!userId) {
      refuse(socket, 401, 'Unauthorized', 'UNAUTHENTICATED', 'A valid ticket is required');
      return true;
    }
    this.#pipe(req, socket, head, new URL(upstream), userId);
    return true;
  }

  #pipe(req: IncomingMessage, socket: Duplex, head: Buffer, target: URL, userId: string): void {
    const secure = target.protocol === 'wss:';
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(target.port || (secure ? 443 : 80));
    const upstream: Socket = secure
      ? tlsConnect({
          host,
          port,
          ...(isIP(host) ? {} : { servername: host }),
          // `ca` replaces the default roots: a private CA is added to them, not put in their place.
          ...(this.#o.upstreamCa ? { ca: [...rootCertificates, this.#o.upstreamCa] } : {}),
        })
      : connect(port, host);
    const connectEvent = secure ? 'secureConnect' : 'connect';
    this.#live.add(socket);
    this.#o.watcher?.opened(userId);
    let ended = false;
    const end = (): void => {
      if (!ended) {
        ended = true;
        this.#o.watcher?.closed(userId);
      }
      this.#live.delete(socket);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('close', end);
    upstream.on('close', end);
    upstream.on('error', (err) => {
      this.#log.warn({ err: err.message, userId }, 'the SIP WebSocket could not reach Kamailio');
      if (socket.writable && (socket as Partial<Socket>).bytesWritten === 0) {
        refuse(socket, 502, 'Bad Gateway', 'SERVICE_UNAVAILABLE', 'Telephony is not available');
      }
      end();
    });
    upstream.once(connectEvent, () => {
      // The request as the browser sent it, to the edge's own path and host, without the ticket (not for its logs).
      const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        if ((req.rawHeaders[i] ?? '').toLowerCase() === 'host') continue;
        lines.push(`${req.rawHeaders[i] ?? ''}: ${req.rawHeaders[i + 1] ?? ''}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(`sip-ws:${body}`).digest('base64url');
  }

  /** Idempotent: refuses new upgrades and ends the open connections. */
  close(): void {
    this.#closed = true;
    for (const socket of this.#live) socket.destroy();
    this.#live.clear();
  }
}

function refuse(socket: Duplex, status: number, reason: string, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
