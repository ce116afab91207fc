import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents } from '../../shared/protocol.js';
import type { Auth } from '../auth/authMiddleware.js';

export interface SocketData {
  auth: Auth;
}

export type UccServerIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type UccSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The personal room of a directory user: every socket of theirs, for realtime notices. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}

/** The room of a meeting's admitted participants. */
export function meetingRoom(meetingId: string): string {
  return `meeting:${meetingId}`;
}

/** Every signed-in directory user's sockets (not guests'): presence goes there. */
export const USERS_ROOM = 'users';
