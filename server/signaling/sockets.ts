import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, SessionEndReason, ServerToClientEvents } from '../../shared/protocol.js';
import type { Auth } from '../auth/authMiddleware.js';
import type { SessionTarget } from '../auth/AuthService.js';
import type { SeatChange } from '../presence/Presence.js';

/** A change to a meeting's session made through one node, which the node holding its seats must apply. */
export type MeetingSessionChange = 'cancelled' | 'linkRotated';

/** Between the server nodes, through socket.io's Redis adapter (`serverSideEmit`); see ClusterEvents. */
export interface InterServerEvents {
  'sessions.ended': (target: SessionTarget, reason: SessionEndReason) => void;
  'meeting.session': (meetingId: string, change: MeetingSessionChange) => void;
  'chat.typingRecorded': (roomId: string, mxid: string, typing: boolean) => void;
  'chat.typingPushed': (roomId: string, mxids: string[]) => void;
  'presence.seat': (change: SeatChange) => void;
  /** A node that starts asks the others for the seats their gates gave. */
  'presence.seats': (answer: (seats: SeatChange[]) => void) => void;
}

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
