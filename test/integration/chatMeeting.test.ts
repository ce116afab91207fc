import assert from 'node:assert/strict';
import { mxidOf, nextMeetingMessage, chatServer } from '../harness/chatServer.js';
import { ackData, request, ackErrorCode } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

describe('meeting in-call chat kept in Matrix (real Synapse)', function () {
  this.timeout(60_000);
  const chat = chatServer();
  const { user, rooms, scheduleNow, guestSocketFor } = chat;

  it('keeps a meeting’s in-call chat in Matrix: organizer and guest write both ways, and it persists', async () => {
    const { matrix } = testStack();
    const organizer = await chat.fx.createUser({ firstName: 'Marta', lastName: 'Pro', plan: 'pro' });
    const meeting = await scheduleNow(organizer);
    let orgSocket = await chat.sockets.connect(organizer.token);
    ackData(await request(orgSocket, { type: 'meeting.join', meetingId: meeting.id }));
    let guest = await guestSocketFor(meeting, 'Anna');
    ackData(await request(guest, { type: 'meeting.join', meetingId: meeting.id }));

    // Nothing said yet: no room, no history.
    assert.deepEqual(ackData(await request(guest, { type: 'meeting.chat.history' })), { items: [] });

    const toBoth = [
      nextMeetingMessage(orgSocket, 'benvenuta **Anna**'),
      nextMeetingMessage(guest, 'benvenuta **Anna**'),
    ];
    const sent = ackData(await request(orgSocket, { type: 'meeting.chat.send', body: 'benvenuta **Anna**' }));
    for (const m of await Promise.all(toBoth)) {
      assert.equal(m.eventId, sent.eventId);
      assert.equal(m.meetingId, meeting.id);
      assert.equal(m.sender.kind, 'user');
      assert.equal(m.sender.userId, organizer.id);
      assert.equal(m.sender.displayName, 'Pro Marta');
      assert.equal(m.formattedBody, 'benvenuta <strong>Anna</strong>');
    }

    const fromGuest = [nextMeetingMessage(orgSocket, 'ciao'), nextMeetingMessage(guest, 'ciao')];
    const guestSent = ackData(await request(guest, { type: 'meeting.chat.send', body: 'ciao' }));
    for (const m of await Promise.all(fromGuest)) {
      assert.equal(m.eventId, guestSent.eventId);
      assert.equal(m.sender.kind, 'guest');
      assert.equal(m.sender.displayName, 'Anna');
      assert.equal(m.sender.userId, undefined);
    }

    // Only admitted participants may write or read.
    const outsider = await chat.sockets.connect((await user('Ugo', 'Esterno')).token);
    assert.equal(
      ackErrorCode(await request(outsider, { type: 'meeting.chat.send', body: 'x' })),
      'FORBIDDEN',
    );
    assert.equal(ackErrorCode(await request(outsider, { type: 'meeting.chat.history' })), 'FORBIDDEN');
    assert.equal(
      ackErrorCode(await request(guest, { type: 'meeting.chat.send', body: '   ' })),
      'VALIDATION_FAILED',
    );

    // Stored in Matrix: the meeting's room (#ucc_meeting_<id>), the colleague as themselves, the guest relayed
    // by the bridge's sender under the guest name.
    const alias = `#ucc_meeting_${meeting.id}:${matrix.serverName}`;
    const resolved = await fetch(
      `${matrix.homeserverUrl}/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`,
      { headers: { Authorization: `Bearer ${matrix.asToken}` } },
    );
    assert.equal(resolved.status, 200);
    const { room_id: roomId } = (await resolved.json()) as { room_id: string };
    const stored = await fetch(
      `${matrix.homeserverUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=10`,
      { headers: { Authorization: `Bearer ${matrix.asToken}` } },
    );
    const chunk = (
      (await stored.json()) as { chunk: { type: string; sender: string; content: Record<string, unknown> }[] }
    ).chunk.filter((e) => e.type === 'm.room.message');
    assert.equal(chunk[0]?.sender, `@ucc-bridge:${matrix.serverName}`);
    assert.equal(chunk[0]?.content.body, 'Anna (ospite): ciao');
    assert.equal(chunk[0]?.content['ucc.guest_name'], 'Anna');
    assert.equal(chunk[1]?.sender, mxidOf(organizer));
    assert.equal(chunk[1]?.content.body, 'benvenuta **Anna**');
    // The meeting room is not one of the organizer's chats.
    assert.equal((await rooms(organizer)).length, 0);

    // Both reconnect: the history comes back from Matrix, newest first.
    orgSocket.disconnect();
    guest.disconnect();
    orgSocket = await chat.sockets.connect(organizer.token);
    ackData(await request(orgSocket, { type: 'meeting.join', meetingId: meeting.id }));
    guest = await guestSocketFor(meeting, 'Anna');
    ackData(await request(guest, { type: 'meeting.join', meetingId: meeting.id }));
    for (const socket of [orgSocket, guest]) {
      const history = ackData(await request(socket, { type: 'meeting.chat.history', limit: 10 }));
      assert.deepEqual(
        history.items.map((m) => [m.sender.kind, m.sender.displayName, m.body]),
        [
          ['guest', 'Anna', 'ciao'],
          ['user', 'Pro Marta', 'benvenuta **Anna**'],
        ],
      );
    }
    const page = ackData(await request(guest, { type: 'meeting.chat.history', limit: 1 }));
    assert.equal(page.items.length, 1);
    assert.ok(page.next);
    const older = ackData(await request(guest, { type: 'meeting.chat.history', limit: 1, from: page.next }));
    assert.equal(older.items[0]?.body, 'benvenuta **Anna**');
  });
});
