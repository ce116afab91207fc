import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export interface EvapiClientEvents {
  /** Connected (again): Kamailio may have restarted, with empty tables. */
  connected: [];
  disconnected: [];
  message: [message: Record<string, unknown>];
}

/**
 * A client of Kamailio's evapi: a TCP connection on which Kamailio pushes netstrings (`<len>:<json>,`). It
 * reconnects while Kamailio is down, so a restart shows as `disconnected` then `connected`.
 */
export class EvapiClient extends EventEmitter<EvapiClientEvents> {
  readonly #host: string;
  readonly #port: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retryMs: number;
  #socket: Socket | undefined;
  #connected = false;
  #closed = false;
  #cancelRetry: (() => void) | undefined;

  constructor(options: { host?: string; port: number; clock: Clock; logger: Logger; retryMs?: number }) {
    super();
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#retryMs = options.retryMs ?? 250;
  }

  /** `host:port`, for messages that name what is down. */
  get address(): string {
    return `${this.#host}:${this.#port}`;
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    if (this.#closed || this.#socket) return;
    let buffer: Buffer = Buffer.alloc(0);
    const socket = createConnection({ host: this.#host, port: this.#port });
    this.#socket = socket;
    socket.setKeepAlive(true, 5_000);
    socket.on('connect', () => {
      this.#connected = true;
      this.emit('connected');
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      buffer = this.#drain(buffer);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const was = this.#connected;
      this.#connected = false;
      this.#socket = undefined;
      if (was) this.emit('disconnected');
      if (this.#closed) return;
      this.#cancelRetry = this.#clock.setTimer(this.#retryMs, () => {
        this.#cancelRetry = undefined;
        this.start();
      });
    });
  }

  /** Emits every complete netstring in `buffer`; returns what is left. */
  #drain(buffer: Buffer): Buffer {
    for (;;) {
      const colon = buffer.indexOf(0x3a);
      if (colon < 0) return buffer;
      const length = Number(buffer.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(length) || length < 0) {
        this.#log.warn('evapi: unreadable netstring; reconnecting');
        this.#socket?.destroy();
        return Buffer.alloc(0);
      }
      const end = colon + 1 + length;
      if (buffer.length < end + 1) return buffer;
      const payload = buffer.subarray(colon + 1, end).toString('utf8');
      buffer = buffer.subarray(end + 1);
      try {
        const message: unknown = JSON.parse(payload);
        if (message && typeof message === 'object') this.emit('message', message as Record<string, unknown>);
      } catch {
        this.#log.warn('evapi: a message that is not JSON');
      }
    }
  }

  close(): void {
    this.#closed = true;
    this.#cancelRetry?.();
    this.#socket?.destroy();
  }
}
