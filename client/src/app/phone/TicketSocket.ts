import type { Socket } from 'jssip/lib/Socket';
import { CrlfKeepalive, type KeepaliveOptions } from './keepalive.js';
import { Reconnector } from './reconnect.js';

/** An attempt that has not opened by then is given up (a network that swallows the handshake). */
const OPEN_TIMEOUT_MS = 8_000;

/**
 * A JsSIP socket that asks for a fresh WebSocket URL (it carries a one-minute ticket) before every connection,
 * so JsSIP's own reconnection after a network blip or a server restart gets through the server's proxy. The URL
 * is moved onto the page's own origin: behind a reverse proxy the server may not know the scheme the page used.
 *
 * A connection asked for by JsSIP is retried here, with our backoff, until it opens: JsSIP only hears of a
 * connection that opened and then closed. Its own recovery would back off up to 30 s while the network is down,
 * and then make the user wait that long after it came back; {@link wake} (the browser is online again) tries now.
 */
export class TicketSocket implements Socket {
  via_transport: string;
  readonly url: string;
  readonly sip_uri: string;
  readonly #nextUrl: () => Promise<string>;
  readonly #retry: Reconnector;
  readonly #keepalive: CrlfKeepalive;
  #ws: WebSocket | undefined;
  #connecting = false;
  #wanted = false;

  constructor(nextUrl: () => Promise<string>, keepalive?: Partial<KeepaliveOptions>) {
    this.#nextUrl = nextUrl;
    const secure = location.protocol === 'https:';
    this.via_transport = secure ? 'WSS' : 'WS';
    this.url = `${secure ? 'wss' : 'ws'}://${location.host}/sip`;
    this.sip_uri = `sip:${location.hostname};transport=ws`;
    const timers = {
      setTimeout: (run: () => void, ms: number) => window.setTimeout(run, ms),
      clearTimeout: (handle: unknown) => window.clearTimeout(handle as number),
    };
    this.#retry = new Reconnector(() => this.#attempt(), timers);
    // A silently dead network: the connection is dropped as on `offline`, and JsSIP reconnects through us.
    this.#keepalive = new CrlfKeepalive({
      send: (ping) => this.send(ping),
      lost: () => this.drop('keepalive'),
      timers,
      options: keepalive,
    });
  }

  connect(): void {
    if (this.#connecting || this.isConnected()) return;
    this.#connecting = true;
    this.#wanted = true;
    this.#attempt();
  }

  /** The network is back: a connection being retried tries at once. */
  wake(): void {
    this.#retry.wake();
  }

  /**
   * The browser reports the network gone: the open connection is treated as lost now (as socket.io does), not
   * when TCP finally gives up, so that the phone shows it and reconnects as soon as the network is back.
   */
  drop(reason = 'offline'): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    this.#keepalive.stop();
    this.#ws = undefined;
    ws.onopen = null;
    ws.onclose = null;
    ws.onmessage = null;
    ws.close();
    this.ondisconnect(true, 1006, reason);
  }

  #attempt(): void {
    if (!this.#wanted) return;
    this.#nextUrl().then(
      (given) => {
        if (!this.#wanted) return;
        const u = new URL(given, location.href);
        const ws = new WebSocket(`${this.url}${u.search}`, 'sip');
        ws.binaryType = 'arraybuffer';
        this.#ws = ws;
        let opened = false;
        const timer = window.setTimeout(() => ws.close(), OPEN_TIMEOUT_MS);
        ws.onopen = () => {
          opened = true;
          window.clearTimeout(timer);
          this.#connecting = false;
          this.#retry.succeeded();
          this.#keepalive.start();
          this.onconnect();
        };
        ws.onclose = (e) => {
          window.clearTimeout(timer);
          if (this.#ws === ws) {
            this.#ws = undefined;
            this.#keepalive.stop();
          }
          if (!opened) {
            this.#retry.failed();
            return;
          }
          this.ondisconnect(!e.wasClean, e.code, e.reason);
        };
        ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
          this.#keepalive.heard();
          this.ondata(typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data));
        };
      },
      // No ticket (offline, telephony down, session gone): again after the backoff.
      () => this.#retry.failed(),
    );
  }

  disconnect(): void {
    this.#wanted = false;
    this.#connecting = false;
    this.#retry.stop();
    this.#keepalive.stop();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      // As JsSIP's own WebSocket socket: a requested close reports nothing (the transport already knows).
      ws.onopen = null;
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
    }
  }

  send(message: string | ArrayBufferLike | Blob | ArrayBufferView): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(message);
    return true;
  }

  isConnected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  isConnecting(): boolean {
    return this.#connecting;
  }

  // JsSIP's transport replaces these with its own handlers.
  onconnect(): void {}
  ondisconnect(_error: boolean, _code?: number, _reason?: string): void {}
  ondata<T>(_event: T): void {}
}
