// Types only (erased from the build): what the server's mediasoup hands out is what mediasoup-client takes in.
import type { types } from 'mediasoup-client';
import type { ErrorBody } from './errors.js';
import type {
  ChatMessageView,
  ChatReadView,
  ChatTypingView,
  MeetingChatMessageView,
} from './schemas/chat.js';
import type { PresenceView } from './schemas/presence.js';
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
  handRaised: boolean;
  /**
   * `reconnecting`: their connection dropped and they may be back within the rejoin grace window; they are
   * still in the meeting (and their media with them) until they return or the window ends.
   */
  connection: ParticipantConnection;
}

export type ParticipantConnection = 'connected' | 'reconnecting';

/** Admitted into the live session. */
export interface JoinedInfo {
  meetingId: string;
  participantId: string;
  isOrganizer: boolean;
  /** Present it in the next `meeting.join` to come back after a drop, even past the end time. */
  rejoinToken: string;
  rejoinWindowMs: number;
  participants: ParticipantView[];
  /** The organizer's answer only: who is knocking (see `meeting.lobby`). */
  lobby?: LobbyEntry[];
}

/**
 * What a waiting socket waits for: `organizer`, the organizer to start the session (then everyone waiting comes
 * in); `admission`, the organizer to let this person in (guests, once the organizer has removed a guest).
 */
export type WaitingFor = 'organizer' | 'admission';

export type JoinOutcome = { state: 'waiting'; waitingFor: WaitingFor } | ({ state: 'joined' } & JoinedInfo);

/** Someone knocking in the lobby, as the organizer sees them. */
export interface LobbyEntry {
  waiterId: string;
  displayName: string;
  kind: 'user' | 'guest';
}

export type MediaSource = 'mic' | 'camera' | 'screen';

/** ICE servers for RTCPeerConnection: TURN with short-lived credentials when configured. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** What mediasoup-client's Device.createSendTransport/createRecvTransport need. */
export interface TransportInfo {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
  iceServers: IceServer[];
}

/** What mediasoup-client's RecvTransport.consume needs, plus who and what it is. */
export interface ConsumerInfo {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: types.RtpParameters;
  /** The participant who produces it. */
  participantId: string;
  source: MediaSource;
  /** Consumers start paused; send `media.resumeConsumer` once the track is attached. */
  paused: true;
  /** The producer is paused right now (e.g. that person is muted). */
  producerPaused: boolean;
}

/** The ack data of each request type. */
export interface RequestResponses {
  hello: ServerInfo;
  'meeting.join': JoinOutcome;
  'meeting.leave': { left: boolean };
  'meeting.removeParticipant': { removed: true };
  'meeting.end': { ended: true };
  'meeting.raiseHand': { raised: boolean };
  'meeting.admit': { admitted: true };
  'meeting.deny': { denied: true };
  'media.getRouterRtpCapabilities': { rtpCapabilities: types.RtpCapabilities };
  'media.createTransport': TransportInfo;
  'media.connectTransport': { connected: true };
  'media.restartIce': { iceParameters: types.IceParameters };
  'media.closeTransport': { closed: true };
  'media.produce': { producerId: string };
  /** With the meeting's current active speaker, if there is one yet. */
  'media.ready': { consumers: ConsumerInfo[]; activeSpeaker?: string };
  'media.resumeConsumer': { resumed: true };
  'media.setPreferredLayers': { set: true };
  'media.pauseProducer': { paused: true };
  'media.resumeProducer': { paused: false };
  'media.closeProducer': { closed: true };
  'media.muteParticipant': { muted: number };
  'media.unlockParticipant': { unlocked: true };
  'media.stopCamera': { stopped: number };
  'chat.typing': { sent: true };
  'meeting.chat.send': { eventId: string };
  'meeting.chat.history': { items: MeetingChatMessageView[]; next?: string };
  /** The socket now runs on the new token, until `expiresAt` (ms since the epoch). */
  'auth.refresh': { expiresAt: number };
}

// Compile-time check: every request type has a response type, and nothing else does.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const requestResponsesCoverRequests: Exact<keyof RequestResponses, ClientRequestType> = true;

/** Events the browser sends. The payload is checked at runtime with `clientRequestSchema`. */
export interface ClientToServerEvents {
  request: (payload: unknown, ack: AckCallback<RequestResponses[ClientRequestType]>) => void;
}

/**
 * Why a socket is out of a meeting (or its waiting room): `removed` by the organizer, `denied` entry by the
 * organizer, the meeting `ended` or was `cancelled`, `linkRotated` (a guest whose link the organizer replaced),
 * or `replaced` by a newer socket of the same person.
 */
export type RemovalReason = 'removed' | 'denied' | 'ended' | 'cancelled' | 'linkRotated' | 'replaced';

/**
 * Why the server ended a socket's session (`session.ended`, then a disconnect): `logout` (that session logged
 * out), `revoked` (its refresh token was replayed), `passwordChanged`, `disabled`, `deleted` (the account),
 * `expired` (the socket's token ran out before an `auth.refresh`), `guestLinkRotated` and `meetingCancelled`
 * (a guest's meeting link stopped being valid).
 */
export type SessionEndReason =
  | 'logout'
  | 'revoked'
  | 'passwordChanged'
  | 'disabled'
  | 'deleted'
  | 'expired'
  | 'guestLinkRotated'
  | 'meetingCancelled';

/**
 * Why "Chiamate recenti" changed for a user: `recorded`, a call of theirs ended and is in the list; `seen`, they
 * looked at the list on one of their devices (the missed-calls badge is 0 again).
 */
export type CallsChangeReason = 'recorded' | 'seen';

/** Events the server pushes. */
export interface ServerToClientEvents {
  'server.shutdown': (payload: { reason: string }) => void;
  /** This socket's session is over; the server disconnects it right after. Sign in again (or leave the page). */
  'session.ended': (payload: { reason: SessionEndReason }) => void;
  /** A waiting socket was let in: the organizer arrived. */
  'meeting.admitted': (payload: JoinedInfo) => void;
  /** A waiting socket can no longer be let in (the meeting expired or was cancelled meanwhile). */
  'meeting.rejected': (payload: { error: ErrorBody }) => void;
  'meeting.participantJoined': (payload: ParticipantView) => void;
  'meeting.participantLeft': (payload: { participantId: string }) => void;
  /**
   * A participant's state changed: a raised hand, or their connection (`reconnecting` when it drops, `connected`
   * when they are back). Someone whose grace window ends without a return gets `meeting.participantLeft`.
   */
  'meeting.participantUpdated': (payload: ParticipantView) => void;
  /** This socket is out of the meeting or its waiting room, for good; see RemovalReason. */
  'meeting.removed': (payload: { reason: RemovalReason }) => void;
  /** A waiting socket now waits for something else (the organizer arrived, but this guest must be let in). */
  'meeting.waiting': (payload: { waitingFor: WaitingFor }) => void;
  /** To the organizer: everyone knocking right now (the whole list, each time it changes). */
  'meeting.lobby': (payload: { waiting: LobbyEntry[] }) => void;
  /** Another participant started producing: consume it (it starts paused). */
  'media.newConsumer': (payload: ConsumerInfo) => void;
  'media.consumerClosed': (payload: { consumerId: string }) => void;
  /** The producer behind a consumer was paused or resumed (e.g. that person muted). */
  'media.consumerPaused': (payload: { consumerId: string; paused: boolean }) => void;
  'media.layersChanged': (payload: {
    consumerId: string;
    spatialLayer: number | null;
    temporalLayer: number | null;
  }) => void;
  'media.activeSpeaker': (payload: { participantId: string }) => void;
  /** The organizer muted this participant's microphone; with `locked`, unmuting is refused until unlocked. */
  'media.mutedByOrganizer': (payload: { locked: boolean }) => void;
  'media.cameraStoppedByOrganizer': (payload: Record<string, never>) => void;
  /** The organizer unlocked this participant's microphone: they may unmute again. */
  'media.micUnlocked': (payload: Record<string, never>) => void;
  /** This participant's router was lost (a worker died): close the transports and run the media flow again. */
  'media.restart': (payload: { reason: string }) => void;
  'meeting.invited': (payload: { meetingId: string }) => void;
  'meeting.updated': (payload: { meetingId: string }) => void;
  'meeting.cancelled': (payload: { meetingId: string }) => void;
  /** A chat message (or an edit, with `edits`) in a room this user is a member of. */
  'chat.message': (payload: ChatMessageView) => void;
  /** A room's members, name or topic changed, or the user was added to or removed from it: fetch it again. */
  'chat.room': (payload: { roomId: string }) => void;
  'chat.typing': (payload: ChatTypingView) => void;
  /**
   * A member of the room read it up to `eventId`, at `ts` (server clock): another member (a DM partner's
   * "Letto") or this user on one of their devices (`userId` is theirs: their unread count is now 0).
   */
  'chat.read': (payload: ChatReadView) => void;
  /** A message in the in-call chat of the meeting this socket is in (also the sender's own, once stored). */
  'meeting.chat.message': (payload: MeetingChatMessageView) => void;
  /** This user's call list changed: fetch it (or the badge, GET /api/calls/missed) again. */
  'calls.changed': (payload: { reason: CallsChangeReason }) => void;
  /** A colleague's presence changed (to every signed-in user's sockets; read the start with GET /api/presence). */
  'presence.changed': (payload: PresenceView) => void;
}
