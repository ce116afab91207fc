import type { ErrorBody } from './errors.js';
import type { ClientRequestType } from './schemas/requests.js';

/** Every socket request is answered through an ack of this shape. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

export type AckCallback<T> = (response: Ack<T>) => void;

export interface ServerInfo {
  name: string;
  version: string;
  serverTime: string;
}

export interface ParticipantView {
  participantId: string;
  displayName: string;
  kind: 'user' | 'guest';
  isOrganizer: boolean;
}

/** Admitted into the live session. */
export interface JoinedInfo {
  meetingId: string;
  participantId: string;
  isOrganizer: boolean;
  /** Present it in the next `meeting.join` to come back after a drop, even past the end time. */
  rejoinToken: string;
  rejoinWindowMs: number;
  participants: ParticipantView[];
}

export type JoinOutcome = { state: 'waiting' } | ({ state: 'joined' } & JoinedInfo);

/** The ack data of each request type. */
export interface RequestResponses {
  hello: ServerInfo;
  'meeting.join': JoinOutcome;
  'meeting.leave': { left: boolean };
  'meeting.removeParticipant': { removed: true };
  'meeting.end': { ended: true };
}

// Compile-time check: every request type has a response type, and nothing else does.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const requestResponsesCoverRequests: Exact<keyof RequestResponses, ClientRequestType> = true;

/** Events the browser sends. The payload is checked at runtime with `clientRequestSchema`. */
export interface ClientToServerEvents {
  request: (payload: unknown, ack: AckCallback<RequestResponses[ClientRequestType]>) => void;
}

export type RemovalReason = 'removed' | 'ended' | 'replaced';

/** Events the server pushes. */
export interface ServerToClientEvents {
  'server.shutdown': (payload: { reason: string }) => void;
  /** A waiting socket was let in: the organizer arrived. */
  'meeting.admitted': (payload: JoinedInfo) => void;
  /** A waiting socket can no longer be let in (the meeting expired or was cancelled meanwhile). */
  'meeting.rejected': (payload: { error: ErrorBody }) => void;
  'meeting.participantJoined': (payload: ParticipantView) => void;
  'meeting.participantLeft': (payload: { participantId: string }) => void;
  /** This socket is out of the meeting: removed by the organizer, meeting ended, or replaced by a newer socket. */
  'meeting.removed': (payload: { reason: RemovalReason }) => void;
  'meeting.invited': (payload: { meetingId: string }) => void;
  'meeting.updated': (payload: { meetingId: string }) => void;
  'meeting.cancelled': (payload: { meetingId: string }) => void;
}

export interface InterServerEvents {
  ping: () => void;
}
