import type { ChatService } from '../chat/ChatService.js';
import type { MeetingChat } from '../chat/MeetingChat.js';
import { ForbiddenError } from '../errors.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import type { RequestHandlers } from './requestHandlers.js';
import { seatOf } from './seat.js';

export interface ChatHandlerDeps {
  gate: AdmissionGate;
  chat: ChatService;
  meetingChat: MeetingChat;
}

/** Typing in a directory user's chat rooms, and the in-call chat of the socket's meeting (its seat authorizes). */
export function chatHandlers({
  gate,
  chat,
  meetingChat,
}: ChatHandlerDeps): RequestHandlers<'chat.typing' | 'meeting.chat.send' | 'meeting.chat.history'> {
  return {
    'chat.typing': async (request, { auth }) => {
      if (auth.kind !== 'user') throw new ForbiddenError('Chat is for directory users');
      await chat.typing(auth, request.roomId, request.typing);
      return { sent: true };
    },
    'meeting.chat.send': (request, { socket, auth }) =>
      meetingChat.send(seatOf(gate, socket), auth, request.body),
    'meeting.chat.history': (request, { socket }) =>
      meetingChat.history(seatOf(gate, socket).meetingId, request),
  };
}
