import assert from 'node:assert/strict';
import { withMessage, withRead } from '../../client/src/app/chat/chatList.js';
import type { ChatMessageView, ChatRoomView } from '../../shared/schemas/chat.js';

const ME = 'u-me';
const me = { mxid: '@ucc_200:ucc.test', userId: ME, displayName: 'Rossi Mario' };
const giulia = { mxid: '@ucc_201:ucc.test', userId: 'u-giulia', displayName: 'Bianchi Giulia' };

function room(roomId: string, lastActivityAt: number, unread = 0): ChatRoomView {
  return { roomId, kind: 'group', name: roomId, members: [me, giulia], unread, lastActivityAt, reads: [] };
}

function message(
  roomId: string,
  eventId: string,
  ts: number,
  sender = giulia,
  edits?: string,
): ChatMessageView {
  return {
    roomId,
    eventId,
    sender,
    msgtype: 'm.text',
    body: `testo ${eventId}`,
    ts,
    ...(edits ? { edits } : {}),
  };
}

describe('the conversation list updated from socket events (client)', () => {
  it('moves a room with a colleague’s message up, unread, and leaves our own message read', () => {
    const rooms = [room('!a', 20), room('!b', 10)];
    const after = withMessage(rooms, message('!b', '$1', 30), ME);
    assert.deepEqual(
      after?.map((r) => [r.roomId, r.unread, r.lastMessage?.sender]),
      [
        ['!b', 1, 'Bianchi Giulia'],
        ['!a', 0, undefined],
      ],
    );
    const mine = withMessage(rooms, message('!b', '$2', 30, me), ME);
    assert.equal(mine?.find((r) => r.roomId === '!b')?.unread, 0);
  });

  it('keeps unread rooms on top, and asks for the list again for a room it does not know', () => {
    const rooms = [room('!a', 20, 2), room('!b', 10)];
    const after = withMessage(rooms, message('!b', '$1', 30, me), ME);
    assert.deepEqual(
      after?.map((r) => r.roomId),
      ['!a', '!b'],
    );
    assert.equal(withMessage(rooms, message('!new', '$1', 30), ME), undefined);
  });

  it('counts an edit as nothing new, but shows it if it changes the last message', () => {
    const rooms = withMessage([room('!a', 10)], message('!a', '$1', 20), ME) ?? [];
    const edited = withMessage(rooms, { ...message('!a', '$e', 30, giulia, '$1'), body: 'corretto' }, ME);
    assert.equal(edited?.[0]?.unread, 1);
    assert.equal(edited?.[0]?.lastMessage?.body, 'corretto');
    assert.equal(edited?.[0]?.lastActivityAt, 20);
  });

  it('clears our count when we read, and records a colleague’s read without touching it', () => {
    const rooms = [room('!a', 10, 3)];
    const theirs = withRead(
      rooms,
      { roomId: '!a', userId: giulia.userId, mxid: giulia.mxid, eventId: '$1', ts: 5 },
      ME,
    );
    assert.equal(theirs[0]?.unread, 3);
    assert.deepEqual(theirs[0]?.reads, [{ userId: giulia.userId, mxid: giulia.mxid, eventId: '$1', ts: 5 }]);
    const again = withRead(
      theirs,
      { roomId: '!a', userId: giulia.userId, mxid: giulia.mxid, eventId: '$2', ts: 9 },
      ME,
    );
    assert.deepEqual(
      again[0]?.reads.map((r) => r.eventId),
      ['$2'],
    );
    const ours = withRead(again, { roomId: '!a', userId: ME, mxid: me.mxid, eventId: '$2', ts: 9 }, ME);
    assert.equal(ours[0]?.unread, 0);
  });
});
