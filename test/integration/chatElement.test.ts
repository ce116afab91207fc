import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient, Direction } from 'matrix-js-sdk';
import type { ChatReadView } from '../../shared/schemas/chat.js';
import { CHAT_EVENT_TIMEOUT_MS, mxidOf, nextMessage, chatServer } from '../harness/chatServer.js';
import { eventually } from '../harness/eventually.js';
import { registerMatrixUser } from '../harness/matrixUsers.js';
import { nextEvent, roundTrip } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

describe('chat with Element users: a plain Matrix client in the same rooms (real Synapse)', function () {
  this.timeout(60_000);
  const chat = chatServer();
  const { user, send, getRoom, rooms, matrixWrite, elementRoom } = chat;

  it('interoperates with a plain Matrix client in both directions', async () => {
    const { matrix } = testStack();
    const elena = await user('Elena', 'Russo');
    const socket = await chat.sockets.connect(elena.token);
    const plain = await registerMatrixUser(matrix, `element_${randomUUID().slice(0, 8)}`, 'correct horse');
    const client = createClient({
      baseUrl: matrix.homeserverUrl,
      userId: plain.userId,
      accessToken: plain.accessToken,
    });
    chat.matrixClients.push(client);
    await client.setDisplayName('Ospite Element');

    // The bridge's user must exist before an Element user can invite it: any API use provisions it.
    assert.equal((await rooms(elena)).length, 0);
    const { room_id: roomId } = await client.createRoom({ name: 'Da Element', invite: [mxidOf(elena)] });
    // The bridge accepts the invitation on Elena's behalf; the room shows up in her list.
    await eventually('the room in Elena’s list', CHAT_EVENT_TIMEOUT_MS, async () =>
      (await rooms(elena)).find((r) => r.roomId === roomId),
    );

    const inbound = nextMessage(socket, 'ciao da Element');
    await client.sendTextMessage(roomId, 'ciao da Element');
    const message = await inbound;
    assert.equal(message.sender.mxid, plain.userId);
    assert.equal(message.sender.userId, undefined);
    assert.equal(message.sender.displayName, 'Ospite Element');

    await send(elena, roomId, { body: 'ciao da UCC' });
    const page = await client.createMessagesRequest(roomId, null, 10, Direction.Backward);
    const texts = page.chunk.filter((e) => e.type === 'm.room.message');
    assert.equal((texts[0]?.content as { body?: string }).body, 'ciao da UCC');
    assert.equal(texts[0]?.sender, mxidOf(elena));
  });

  it('shows what an Element user does to the colleagues in the room: typing, and read receipts in `reads`', async () => {
    const dora = await user('Dora', 'Testa');
    const { plain, client, roomId } = await elementRoom('Collega Element', [dora]);
    const doraSocket = await chat.sockets.connect(dora.token);

    // Typing in Element: Dora's socket learns who started, then that they stopped.
    const started = nextEvent(doraSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    await client.sendTyping(roomId, true, 30_000);
    const typing = await started;
    assert.equal(typing.roomId, roomId);
    assert.equal(typing.typing, true);
    assert.equal(typing.user.mxid, plain.userId);
    assert.equal(typing.user.userId, undefined);
    assert.equal(typing.user.displayName, 'Collega Element');
    // Synapse pushes nothing more while they keep typing; the bridge reminds Dora's client, which would otherwise
    // drop the notice after a few seconds.
    const reminded = await nextEvent(doraSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    assert.deepEqual(reminded, typing);
    const stopped = nextEvent(doraSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    await client.sendTyping(roomId, false, 0);
    const stop = await stopped;
    assert.equal(stop.typing, false);
    assert.equal(stop.user.mxid, plain.userId);

    // They read Dora's message in Element: her socket gets chat.read, and the room's reads show it ("Letto").
    const eventId = await send(dora, roomId, { body: 'l’hai letto?' });
    const before = Date.now();
    const read = nextEvent(doraSocket, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    await matrixWrite(
      { token: plain.accessToken },
      'POST',
      `/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`,
    );
    const seen = await read;
    assert.deepEqual({ ...seen, ts: 0 }, { roomId, mxid: plain.userId, eventId, ts: 0 });
    // The homeserver's time of the receipt (the same clock as the messages' ts).
    assert.ok(seen.ts >= before - 1_000 && seen.ts <= Date.now(), `ts ${seen.ts}`);
    const view = await getRoom(dora, roomId);
    assert.deepEqual(view.reads, [{ mxid: plain.userId, eventId, ts: seen.ts }]);
    assert.equal(view.unread, 0, 'their receipt is not Dora’s');
  });

  it('takes a colleague’s typing and reads on Element as theirs: their unread count resets', async () => {
    const ezio = await user('Ezio', 'Vela');
    const fede = await user('Fede', 'Orsi');
    const { client, roomId } = await elementRoom('Ospite Gruppo', [ezio, fede]);
    const [ezioSocket, fedeSocket] = [
      await chat.sockets.connect(ezio.token),
      await chat.sockets.connect(fede.token),
    ];
    const both = [nextMessage(fedeSocket, 'uno'), nextMessage(fedeSocket, 'due')];
    await client.sendTextMessage(roomId, 'uno');
    const { event_id: last } = await client.sendTextMessage(roomId, 'due');
    await Promise.all(both);
    assert.equal((await getRoom(ezio, roomId)).unread, 2);
    const inRoom = `/rooms/${encodeURIComponent(roomId)}`;

    // Ezio types in Element (his own mxid; the appservice token stands in for his Element login).
    const started = nextEvent(fedeSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    const typingPath = `${inRoom}/typing/${encodeURIComponent(mxidOf(ezio))}`;
    await matrixWrite({ mxid: mxidOf(ezio) }, 'PUT', typingPath, { typing: true, timeout: 30_000 });
    const typing = await started;
    assert.equal(typing.typing, true);
    assert.equal(typing.user.userId, ezio.id);
    assert.equal(typing.user.displayName, 'Vela Ezio');
    const stopped = nextEvent(fedeSocket, 'chat.typing', CHAT_EVENT_TIMEOUT_MS);
    await matrixWrite({ mxid: mxidOf(ezio) }, 'PUT', typingPath, { typing: false });
    assert.equal((await stopped).typing, false);

    // Ezio reads in Element: his unread count resets, and every member (his own devices too) learns it.
    const toFede = nextEvent(fedeSocket, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    const toEzio = nextEvent(ezioSocket, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    await matrixWrite({ mxid: mxidOf(ezio) }, 'POST', `${inRoom}/receipt/m.read/${encodeURIComponent(last)}`);
    const read = await toFede;
    assert.equal(read.roomId, roomId);
    assert.equal(read.userId, ezio.id);
    assert.equal(read.mxid, mxidOf(ezio));
    assert.equal(read.eventId, last);
    assert.deepEqual(await toEzio, read);
    assert.equal((await rooms(ezio)).find((r) => r.roomId === roomId)?.unread, 0);
    const seenByFede = await getRoom(fede, roomId);
    assert.equal(seenByFede.unread, 2, 'Fede has read nothing');
    assert.deepEqual(seenByFede.reads, [{ userId: ezio.id, mxid: mxidOf(ezio), eventId: last, ts: read.ts }]);

    // A private receipt (Element with read receipts off): Fede's count resets on his devices, and nobody else
    // learns of it.
    const ezioSeen: ChatReadView[] = [];
    ezioSocket.on('chat.read', (v) => ezioSeen.push(v));
    const fedeDevice = nextEvent(fedeSocket, 'chat.read', CHAT_EVENT_TIMEOUT_MS);
    await matrixWrite(
      { mxid: mxidOf(fede) },
      'POST',
      `${inRoom}/receipt/m.read.private/${encodeURIComponent(last)}`,
    );
    const own = await fedeDevice;
    assert.equal(own.userId, fede.id);
    assert.equal(own.eventId, last);
    assert.equal((await rooms(fede)).find((r) => r.roomId === roomId)?.unread, 0);
    // The receipt was handled when Fede's device heard of it: a round trip on Ezio's socket brings anything
    // that handling told him.
    await roundTrip(ezioSocket);
    assert.deepEqual(ezioSeen, []);
    assert.deepEqual(
      (await getRoom(ezio, roomId)).reads.map((r) => r.userId),
      [ezio.id],
    );
  });
});
