import type { Socket } from 'jssip/lib/Socket';

/**
 * A JsSIP socket that asks for a fresh WebSocket URL (it carries a one-minute ticket) before every connection,
 * so JsSIP's own reconnection after a network blip or a server restart gets through the server's proxy. The URL
 * is moved onto the page's own origin: behind a reverse proxy the server may not know the scheme the page used.
 */
export class TicketSocket implements Socket {
  via_transport: string;
  readonly url: string;
  readonly sip_uri: string;
  readonly #nextUrl: () => Promise<string>;
  #ws: WebSocket | undefined;
  #connecting = false;
  #wanted = false;

  constructor(nextUrl: () => Promise<string>) {
    this.#nextUrl = nextUrl;
    const secure = location.protocol === 'https:';
    this.via_transport = secure ? 'WSS' : 'WS';
    this.url = `${secure ? 'wss' : 'ws'}://${location.host}/sip`;
    this.sip_uri = `sip:${location.hostname};transport=ws`;
  }

  connect(): void {
    if (this.#connecting || this.isConnected()) return;
    this.#connecting = true;
    this.#wanted = true;
    this.#nextUrl().then(
      (given) => {
        if (!this.#wanted) {
          this.#connecting = false;
          return;
        }
        const u = new URL(given, location.href);
        const ws = new WebSocket(`${this.url}${u.search}`, 'sip');
        ws.binaryType = 'arraybuffer';
        this.#ws = ws;
        ws.onopen = () => {
          this.#connecting = false;
          this.onconnect();
        };
        ws.onclose = (e) => {
          this.#connecting = false;
          if (this.#ws === ws) this.#ws = undefined;
          this.ondisconnect(!e.wasClean, e.code, e.reason);
        };
        ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
          this.ondata(typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data));
        };
      },
      () => {
        // No ticket (telephony down, session gone): JsSIP's recovery tries again later.
        this.#connecting = false;
        this.ondisconnect(true);
      },
    );
  }

  disconnect(): void {
    this.#wanted = false;
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
