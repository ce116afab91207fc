import type { ReconnectTimers } from './reconnect.js';

/** A double CRLF: RFC 5626's keepalive ping over a stream transport; the edge answers one CRLF (the pong). */
export const CRLF_PING = '\r\n\r\n';
/** How often the web phone pings its SIP WebSocket (WebPhoneOptions.keepalive to change it). */
export const KEEPALIVE_INTERVAL_MS = 15_000;
/** How long a ping may go unanswered before the connection counts as lost. */
export const KEEPALIVE_TIMEOUT_MS = 5_000;

export interface KeepaliveOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * A CRLF keepalive on the SIP WebSocket. A network that dies silently (no FIN, no RST, no `offline` event) leaves
 * the browser's WebSocket open and the phone unreachable until the next re-REGISTER fails, minutes later: the
 * browser has no WebSocket ping, and a ping from the server would only tell the server. So the phone pings: every
 * `intervalMs` it sends a double CRLF, which Kamailio answers with a CRLF (JsSIP ignores that answer); anything
 * heard counts as an answer. Nothing heard `timeoutMs` after a ping: `lost()`, and the socket reconnects. A silent
 * loss is so noticed within `intervalMs + timeoutMs`.
 */
export class CrlfKeepalive {
  readonly #send: (ping: string) => boolean;
  readonly #lost: () => void;
  readonly #timers: ReconnectTimers;
  readonly #o: KeepaliveOptions;
  #next: unknown;
  #deadline: unknown;

  constructor(opts: {
    send: (ping: string) => boolean;
    lost: () => void;
    timers: ReconnectTimers;
    options?: Partial<KeepaliveOptions> | undefined;
  }) {
    this.#send = opts.send;
    this.#lost = opts.lost;
    this.#timers = opts.timers;
    this.#o = {
      intervalMs: opts.options?.intervalMs ?? KEEPALIVE_INTERVAL_MS,
      timeoutMs: opts.options?.timeoutMs ?? KEEPALIVE_TIMEOUT_MS,
    };
  }

  /** The connection opened: pings start. */
  start(): void {
    this.stop();
    this.#schedule();
  }

  /** Something arrived on the connection: it is alive. */
  heard(): void {
    if (this.#deadline === undefined) return;
    this.#timers.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** The connection closed or was dropped: no more pings. Idempotent. */
  stop(): void {
    if (this.#next !== undefined) this.#timers.clearTimeout(this.#next);
    if (this.#deadline !== undefined) this.#timers.clearTimeout(this.#deadline);
    this.#next = undefined;
    this.#deadline = undefined;
  }

  #schedule(): void {
    this.#next = this.#timers.setTimeout(() => {
      this.#next = undefined;
      this.#ping();
    }, this.#o.intervalMs);
  }

  #ping(): void {
    if (!this.#send(CRLF_PING)) return; // Not open any more: its close is reported on its own.
    this.#deadline ??= this.#timers.setTimeout(() => {
      this.#deadline = undefined;
      this.stop();
      this.#lost();
    }, this.#o.timeoutMs);
    this.#schedule();
  }
}
