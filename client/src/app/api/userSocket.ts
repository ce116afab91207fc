/**
 * The signed-in user's own socket: chat messages, typing, read receipts and meeting notices for this user arrive
 * here (the meeting room opens a socket of its own). It authenticates with a fresh access token at every
 * (re)connection, and moves onto each refreshed token (`auth.refresh`) before the server would end it at the old
 * one's expiry. When the server ends the session (logout elsewhere, password change, account disabled), the app
 * goes back to the login.
 */
import { createContext, useContext } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { ErrorBody } from '../../../../shared/errors.js';
import type {
  Ack,
  ClientToServerEvents,
  RequestResponses,
  ServerToClientEvents,
} from '../../../../shared/protocol.js';
import type { ClientRequestType } from '../../../../shared/schemas/requests.js';
import { accessToken, ApiError, onAccessToken, sessionLost } from './api.js';
import type { RequestOf } from '../../media/MeetingConnection.js';

export type UserSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const REQUEST_TIMEOUT_MS = 10_000;

/** The shell's user socket, for screens that listen to it without being handed it (undefined outside the shell). */
export const UserSocketContext = createContext<UserSocket | undefined>(undefined);

export function useUserSocket(): UserSocket | undefined {
  return useContext(UserSocketContext);
}

export function connectUserSocket(): UserSocket {
  const socket: UserSocket = io('', {
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
  const stopRenewing = onAccessToken((token) => {
    // Closed by the app (signed out, page left): nothing to renew any more.
    if (!socket.active) {
      stopRenewing();
      return;
    }
    if (socket.connected) void socketRequest(socket, { type: 'auth.refresh', token }).catch(() => undefined);
  });
  socket.on('session.ended', ({ reason }) => {
    // A token that ran out (a laptop asleep past its refresh) is not the end of the session: reconnect with a
    // fresh one, which fails over to the login when the session is really gone.
    if (reason === 'expired') socket.once('disconnect', () => socket.connect());
    else {
      stopRenewing();
      sessionLost(true);
    }
  });
  return socket;
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
