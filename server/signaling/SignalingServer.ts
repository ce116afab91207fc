import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type {
  AckCallback,
  ClientToServerEvents,
  InterServerEvents,
  ServerInfo,
  ServerToClientEvents,
} from '../../shared/protocol.js';
import { helloRequestSchema } from '../../shared/schemas/hello.js';
import { zodIssuesToDetails } from '../../shared/schemas/validate.js';
import { ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { errorAck } from './toAck.js';

type UccSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;

/** socket.io on the HTTP server, typed against the shared event maps. */
export class SignalingServer {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;
  readonly #logger: Logger;
  readonly #version: string;
  #closed: Promise<void> | undefined;

  constructor(httpServer: HttpServer, options: { logger: Logger; version: string }) {
    this.#logger = options.logger.child({ component: 'signaling' });
    this.#version = options.version;
    this.io = new Server(httpServer, { serveClient: false, maxHttpBufferSize: 1e6 });
    this.io.on('connection', (socket) => {
      this.#onConnection(socket);
    });
  }

  #onConnection(socket: UccSocket): void {
    socket.on('hello', (payload: unknown, ack: AckCallback<ServerInfo>) => {
      // A client that sends no callback gets nothing back; there is nobody to tell.
      if (typeof ack !== 'function') return;
      const parsed = helloRequestSchema.safeParse(payload);
      if (!parsed.success) {
        ack(
          errorAck(
            new ValidationError('Invalid hello payload', zodIssuesToDetails(parsed.error)),
            this.#logger,
          ),
        );
        return;
      }
      ack({
        ok: true,
        data: { name: 'OpiVoice UCC', version: this.#version, serverTime: new Date().toISOString() },
      });
    });
  }

  /** Idempotent: tells clients why, then disconnects them. */
  async close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.io.emit('server.shutdown', { reason: 'server stopping' });
      this.io.disconnectSockets(true);
      void this.io.close(() => {
        resolve();
      });
    });
    await this.#closed;
  }
}
