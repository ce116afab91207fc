/**
 * The conversation list, updated from socket events the way the server updates its own copy (see ChatService):
 * a message moves its room up and counts as unread for everyone but its sender (an edit changes neither), and a
 * read receipt clears the reader's count. The server stays the judge: a room the list does not know yet, or any
 * change of members or names, is fetched again.
 */
import type { ChatMessageView, ChatReadView, ChatRoomView } from '../../../../shared/schemas/chat.js';

/** Unread rooms first, then by last activity (the server's order). */
export function sortRooms(rooms: ChatRoomView[]): ChatRoomView[] {
  return [...rooms].sort(
    (a, b) => Number(b.unread > 0) - Number(a.unread > 0) || b.lastActivityAt - a.lastActivityAt,
  );
}

/** The list after `m`; undefined when the room is not in it (fetch the list). */
export function withMessage(
  rooms: ChatRoomView[],
  m: ChatMessageView,
  myId: string,
): ChatRoomView[] | undefined {
  const room = rooms.find((r) => r.roomId === m.roomId);
  if (!room) return undefined;
  if (m.edits) {
    if (room.lastMessage?.eventId !== m.edits) return rooms;
    return rooms.map((r) =>
      r === room && r.lastMessage ? { ...r, lastMessage: { ...r.lastMessage, body: m.body } } : r,
    );
  }
  const updated: ChatRoomView = {
    ...room,
    lastActivityAt: m.ts,
    lastMessage: { eventId: m.eventId, sender: m.sender.displayName, body: m.body, ts: m.ts },
    unread: m.sender.userId === myId ? room.unread : room.unread + 1,
  };
  return sortRooms(rooms.map((r) => (r === room ? updated : r)));
}

/** The list after a read receipt: the reader's entry in `reads`, and the count back to 0 if the reader is us. */
export function withRead(rooms: ChatRoomView[], read: ChatReadView, myId: string): ChatRoomView[] {
  return sortRooms(
    rooms.map((r) => {
      if (r.roomId !== read.roomId) return r;
      const entry = {
        ...(read.userId ? { userId: read.userId } : {}),
        mxid: read.mxid,
        eventId: read.eventId,
        ts: read.ts,
      };
      return {
        ...r,
        reads: [...r.reads.filter((x) => x.mxid !== read.mxid), entry],
        unread: read.userId === myId ? 0 : r.unread,
      };
    }),
  );
}
