import type { Auth } from '../auth/authMiddleware.js';
import type { MeetingChat } from '../chat/MeetingChat.js';
import type { Logger } from '../logger.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import type { RequestHandlers } from './requestHandlers.js';
import { meetingRoom, type UccSocket } from './sockets.js';

export interface MeetingHandlerDeps {
  gate: AdmissionGate;
  meetingChat: MeetingChat;
  logger: Logger;
}

type MeetingRequest =
  | 'meeting.join'
  | 'meeting.leave'
  | 'meeting.removeParticipant'
  | 'meeting.end'
  | 'meeting.raiseHand'
  | 'meeting.admit'
  | 'meeting.deny';

/**
 * An admitted socket joins the meeting's room (its events and in-call chat), and an admitted colleague the
 * meeting's chat room; the chat itself retries at their first message, so a failure here is only logged.
 */
export function enterMeetingRoom(
  deps: MeetingHandlerDeps,
  socket: UccSocket,
  meetingId: string,
  auth: Auth,
): void {
  void socket.join(meetingRoom(meetingId));
  deps.meetingChat.admitted(meetingId, auth).catch((err: unknown) => {
    deps.logger.warn({ err: String(err), meetingId }, 'joining the meeting chat failed');
  });
}

/** Admission and moderation: the gate decides, these answer the asking socket. */
export function meetingHandlers(deps: MeetingHandlerDeps): RequestHandlers<MeetingRequest> {
  const { gate } = deps;
  return {
    'meeting.join': async (request, { socket, auth }) => {
      const outcome = await gate.join(socket.id, auth, request);
      if (outcome.state === 'joined') enterMeetingRoom(deps, socket, outcome.meetingId, auth);
      return outcome;
    },
    'meeting.leave': async (_request, { socket }) => {
      const meetingId = gate.meetingOf(socket.id);
      const left = await gate.leave(socket.id);
      if (meetingId) await socket.leave(meetingRoom(meetingId));
      return { left };
    },
    'meeting.removeParticipant': async (request, { socket, auth }) => {
      await gate.removeParticipant(socket.id, auth, request.participantId);
      return { removed: true };
    },
    'meeting.end': async (_request, { socket, auth }) => {
      await gate.endMeeting(socket.id, auth);
      return { ended: true };
    },
    'meeting.raiseHand': async (request, { socket }) => {
      await gate.raiseHand(socket.id, request.raised);
      return { raised: request.raised };
    },
    'meeting.admit': async (request, { socket, auth }) => {
      await gate.admitWaiter(socket.id, auth, request.waiterId);
      return { admitted: true };
    },
    'meeting.deny': async (request, { socket, auth }) => {
      await gate.denyWaiter(socket.id, auth, request.waiterId);
      return { denied: true };
    },
  };
}
