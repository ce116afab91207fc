import type { types } from 'mediasoup-client';
import { Emitter } from './Emitter.js';
import { RequestError, type MeetingConnection } from './MeetingConnection.js';

export type Direction = 'send' | 'recv';

export interface IceWatchdogEvents extends Record<string, unknown[]> {
  iceRestarted: [Direction];
  /** The server no longer knows the transport: only a full rebuild helps. */
  transportLost: [];
  error: [unknown];
}

/**
 * Watches the two transports' connection state: `failed` gets an ICE restart (`media.restartIce`) at once,
 * `disconnected` for `delayMs` gets one too, `connected` calls off a pending one. One restart per direction at
 * a time, and none while the socket is not joined (the rejoin resumes the media instead).
 */
export class IceWatchdog extends Emitter<IceWatchdogEvents> {
  readonly #conn: MeetingConnection;
  readonly #delayMs: number;
  readonly #timers = new Map<Direction, ReturnType<typeof setTimeout>>();
  readonly #restarting = new Set<Direction>();

  constructor(connection: MeetingConnection, delayMs = 2_000) {
    super();
    this.#conn = connection;
    this.#delayMs = delayMs;
  }

  /** A transport's new connection state. */
  watch(direction: Direction, transport: types.Transport, state: types.ConnectionState): void {
    this.#cancel(direction);
    if (state === 'failed') {
      void this.restart(direction, transport);
    } else if (state === 'disconnected') {
      this.#timers.set(
        direction,
        setTimeout(() => {
          this.#timers.delete(direction);
          if (transport.connectionState === 'disconnected' || transport.connectionState === 'failed') {
            void this.restart(direction, transport);
          }
        }, this.#delayMs),
      );
    }
  }

  async restart(direction: Direction, transport: types.Transport): Promise<void> {
    if (this.#restarting.has(direction) || transport.closed || this.#conn.state !== 'joined') return;
    this.#restarting.add(direction);
    try {
      const { iceParameters } = await this.#conn.request({
        type: 'media.restartIce',
        transportId: transport.id,
      });
      if (transport.closed) return;
      await transport.restartIce({ iceParameters });
      this.emit('iceRestarted', direction);
    } catch (err) {
      if (err instanceof RequestError && err.code === 'NOT_FOUND') this.emit('transportLost');
      else this.emit('error', err);
    } finally {
      this.#restarting.delete(direction);
    }
  }

  /** Calls off the pending restarts (the transports are being closed). Idempotent. */
  clear(): void {
    for (const direction of [...this.#timers.keys()]) this.#cancel(direction);
  }

  #cancel(direction: Direction): void {
    const timer = this.#timers.get(direction);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(direction);
  }
}
