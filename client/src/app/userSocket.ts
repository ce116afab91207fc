/**
 * The signed-in user's own socket: chat messages, typing, read receipts and meeting notices for this user arrive
 * here (the meeting room opens a socket of its own). It authenticates with a fresh access token at every
 * (re)connection, so it outlives token rotation.
 */
import { io, type Socket } from 'socket.io-client';
import type { ErrorBody } from '../../../shared/errors.js';
import type {
  Ack,
  ClientToServerEvents,
  RequestResponses,
  ServerToClientEvents,
} from '../../../shared/protocol.js';
import type { ClientRequestType } from '../../../shared/schemas/requests.js';
import { accessToken, ApiError, sessionLost } from './api.js';
import type { RequestOf } from '../media/MeetingConnection.js';

export type UserSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const REQUEST_TIMEOUT_MS = 10_000;

export function connectUserSocket(): UserSocket {
  return io('', {
    transports: ['websocket'],
    auth: (cb) => {
      accessToken().then(
        (token) => cb({ token }),
        () => {
          // The session is over (the refresh was refused): back to the login, which closes this socket.
          cb({ token: '' });
          sessionLost();
        },
      );
    },
  });
}

/** A typed request over the user socket, answered like the REST API: data, or an ApiError with its code. */
export async function socketRequest<T extends ClientRequestType>(
  socket: UserSocket,
  payload: RequestOf<T>,
): Promise<RequestResponses[T]> {
  if (!socket.connected) throw new ApiError(0, 'DISCONNECTED', 'Not connected to the server');
  let ack: Ack<RequestResponses[T]>;
  try {
    ack = (await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('request', payload)) as Ack<
      RequestResponses[T]
    >;
  } catch {
    throw new ApiError(0, 'TIMEOUT', `No answer to ${payload.type}`);
  }
  if (!ack.ok) {
    const error: ErrorBody = ack.error;
    throw new ApiError(0, error.code, error.message, error.details ?? []);
  }
  return ack.data;
}
