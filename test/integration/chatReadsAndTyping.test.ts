import assert from 'node:assert/strict';
import type { ChatReadView } from '../../shared/schemas/chat.js';
import {
  CHAT_EVENT_TIMEOUT_MS,
  mxidOf,
  nextMessage,
  nextTransaction,
  chatServer,
} from '../harness/chatServer.js';
import { type TestUser } from '../harness/serverFixture.js';
import { ackData, nextEvent, request, ackErrorCode, roundTrip } from '../harness/sockets.js';

describe('chat read receipts, unread counts and typing (real Synapse, appservice bridge)', function () {
  this.timeout(60_000);
  const chat = chatServer();
  const { user, openDm, send, getRoom, rooms, asMatrixUser, scheduleNow, guestSocketFor } = chat;

  it('counts unread messages, puts unread rooms on top, and resets them with a read receipt', async () => {
    const ugo = await user('Ugo', 'Conti');
    const vera = await user('Vera', 'Costa');
    const zoe = await user('Zoe', 'Lombardi');
    const veraSocket = await chat.sockets.connect(vera.token);
    const quiet = await openDm(vera, zoe);
    const busy = await openDm(ugo, vera);

    const both = [nextMessage(veraSocket, 'uno'), nextMessage(veraSocket, 'due')];
    await send(ugo, busy.room.roomId, { body: 'uno' });
    const last = await send(ugo, busy.room.roomId, { body: 'due' });
    await Promise.all(both);
    // Vera's own message in the quiet room is newer but not unread for her.
    const own = nextMessage(veraSocket, 'mio');
    await send(vera, quiet.room.roomId, { body: 'mio' });
    await own;

    const list = await rooms(vera);
    assert.equal(list[0]?.roomId, busy.room.roomId);
    assert.equal(list[0]?.unread, 2);
    assert.equal(list[0]?.lastMessage?.body, 'due');
    assert.equal(list[1]?.roomId, quiet.room.roomId);
    assert.equal(list[1]?.unread, 0);

    const read = await chat.fx.api('POST', `/api/chat/rooms/${encodeURIComponent(busy.room.roomId)}/read`, {
      token: vera.token,
      body: { eventId: last },
    });
    assert.equal(read.status, 204, JSON.stringify(read.body));
    const after = await rooms(vera);
    assert.equal(after.find((r) => r.roomId === busy.room.roomId)?.unread, 0);
    // Without unread rooms, the most recent activity comes first.
    assert.equal(after[0]?.roomId, quiet.room.roomId);
    // Matrix has the receipt.
    const receipts = await asMatrixUser<{ content?: unknown }>(
      mxidOf(vera),
      `/rooms/${encodeURIComponent(busy.room.roomId)}/messages?dir=b&limit=1`,
    );
    assert.equal(receipts.status, 200);
  });

  it('shares read receipts: the DM partner sees who read what, in the room and on the socket', async () => {
    const alba = await user('Alba', 'Ricci');
    const bice = await user('Bice', 'Longo');
    const { room } = await openDm(alba, bice);
    const [albaSocket, biceSocket, biceTablet] = [
      await chat.sockets.connect(alba.token),
      await chat.sockets.connect(bice.token),
      await chat.sockets.connect(bice.token),
    ];
    const arrived = nextMessage(biceSocket, 'hai visto?');
    const eventId = await send(alba, room.roomId, { body: 'hai visto?' });
    const message = await arrived;
    assert.deepEqual((await getRoom(alba, room.roomId)).reads, []);

    const before = Date.now();
    const albaReads: ChatReadView[] = [];
    albaSocket.on('chat.read', (v) => albaReads.push(v));
    const seenByAlba = nextEvent(albaSocket, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    const seenByTablet = nextEvent(biceTablet, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    // Synapse pushes Bice's receipt back to the bridge, maybe before the call returns: watched from now.
    const pushedBack = nextTransaction(chat.fx, "Bice's receipt", (txn) =>
      txn.ephemeral.some(
        (e) =>
          e.type === 'm.receipt' &&
          e.roomId === room.roomId &&
          e.receipts.some((r) => r.userId === mxidOf(bice) && r.eventId === eventId),
      ),
    );
    const read = await chat.fx.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/read`, {
      token: bice.token,
      body: { eventId },
    });
    assert.equal(read.status, 204, JSON.stringify(read.body));
    const toAlba: ChatReadView = await seenByAlba;
    assert.equal(toAlba.roomId, room.roomId);
    assert.equal(toAlba.userId, bice.id);
    assert.equal(toAlba.eventId, eventId);
    assert.ok(toAlba.ts >= before && toAlba.ts <= Date.now(), `ts ${toAlba.ts}`);
    // The message counts as read for Alba's "Letto": its ts is not after the receipt's.
    assert.ok(message.ts <= toAlba.ts);
    // Bice's other device learns it too (its unread badge goes away).
    assert.deepEqual(await seenByTablet, toAlba);
    assert.equal(toAlba.mxid, mxidOf(bice));
    // Synapse pushes the receipt back: it is Bice's own, already told, and not taken for a read elsewhere.
    await pushedBack;
    await roundTrip(albaSocket);
    assert.deepEqual(albaReads, [toAlba]);
    albaSocket.off('chat.read');

    const fromAlba = await getRoom(alba, room.roomId);
    assert.deepEqual(fromAlba.reads, [{ userId: bice.id, mxid: mxidOf(bice), eventId, ts: toAlba.ts }]);
    // The list shows the same, and so does Bice's own view.
    const listed = (await rooms(alba)).find((r) => r.roomId === room.roomId);
    assert.deepEqual(listed?.reads, fromAlba.reads);
    assert.deepEqual((await getRoom(bice, room.roomId)).reads, fromAlba.reads);

    // Both read Bice's reply at once, while Bice's next message arrives: every receipt is kept, one per member.
    const reply = await send(bice, room.roomId, { body: 'sì' });
    const markRead = (u: TestUser) =>
      chat.fx.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/read`, {
        token: u.token,
        body: { eventId: reply },
      });
    const albaRead = nextEvent(biceSocket, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    const statuses = await Promise.all([
      markRead(alba).then((r) => r.status),
      markRead(bice).then((r) => r.status),
      send(bice, room.roomId, { body: 'e poi' }).then(() => 201),
    ]);
    assert.deepEqual(statuses, [204, 204, 201]);
    assert.ok([alba.id, bice.id].includes((await albaRead).userId ?? ''));
    assert.deepEqual(
      (await getRoom(bice, room.roomId)).reads.map((r) => [r.userId, r.eventId]).sort(),
      [
        [alba.id, reply],
        [bice.id, reply],
      ].sort(),
    );
  });

  it('relays typing from a socket to the other member, and refuses it to guests', async () => {
    const teo = await user('Teo', 'Sala');
    const ines = await user('Ines', 'Riva');
    const { room } = await openDm(teo, ines);
    const [teoSocket, inesSocket] = [
      await chat.sockets.connect(teo.token),
      await chat.sockets.connect(ines.token),
    ];
    const told: boolean[] = [];
    inesSocket.on('chat.typing', (v) => told.push(v.typing));
    // Synapse's echo of the stop: the room's typing list without Teo, the last it pushes of this exchange.
    const stopEchoed = nextTransaction(chat.fx, "the echo of Teo's stop", (txn) =>
      txn.ephemeral.some(
        (e) => e.type === 'm.typing' && e.roomId === room.roomId && !e.userIds.includes(mxidOf(teo)),
      ),
    );

    const typing = nextEvent(inesSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    const ack = await request(teoSocket, { type: 'chat.typing', roomId: room.roomId, typing: true });
    assert.deepEqual(ackData(ack), { sent: true });
    const seen = await typing;
    assert.equal(seen.roomId, room.roomId);
    assert.equal(seen.typing, true);
    assert.equal(seen.user.userId, teo.id);
    assert.equal(seen.user.displayName, 'Sala Teo');
    const stopped = nextEvent(inesSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    await request(teoSocket, { type: 'chat.typing', roomId: room.roomId, typing: false });
    assert.equal((await stopped).typing, false);
    // Synapse pushes both changes back (ephemeral events): they were told already, and are not told again.
    await stopEchoed;
    await roundTrip(inesSocket);
    assert.deepEqual(told, [true, false]);

    // Validation, rooms the caller is not in, and guests.
    assert.equal(
      ackErrorCode(await request(teoSocket, { type: 'chat.typing', roomId: 'nope', typing: true })),
      'VALIDATION_FAILED',
    );
    const outsider = await chat.sockets.connect((await user('Oto', 'Fuori')).token);
    assert.equal(
      ackErrorCode(await request(outsider, { type: 'chat.typing', roomId: room.roomId, typing: true })),
      'NOT_FOUND',
    );
    const organizer = await chat.fx.createUser({ firstName: 'Olga', lastName: 'Pro', plan: 'pro' });
    const meeting = await scheduleNow(organizer);
    const guest = await guestSocketFor(meeting, 'Gina');
    assert.equal(
      ackErrorCode(await request(guest, { type: 'chat.typing', roomId: room.roomId, typing: true })),
      'FORBIDDEN',
    );
  });
});
