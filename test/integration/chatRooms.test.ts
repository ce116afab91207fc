import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ChatMessageView, ChatRoomView } from '../../shared/schemas/chat.js';
import { CHAT_EVENT_TIMEOUT_MS, mxidOf, collect, nextMessage, chatServer } from '../harness/chatServer.js';
import { eventually } from '../harness/eventually.js';
import { type TestUser } from '../harness/serverFixture.js';
import { type ClientSocket, roundTrip } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

describe('chat rooms over Matrix: DMs, groups, members, the room cache (real Synapse, appservice bridge)', function () {
  this.timeout(60_000);
  const chat = chatServer();
  const { user, openDm, send, getRoom, rooms, asMatrixUser } = chat;

  it('opens a DM that delivers to the other socket, and reopening returns the same room', async () => {
    const mario = await user('Mario', 'Rossi');
    const giulia = await user('Giulia', 'Bianchi');
    const giuliaSocket = await chat.sockets.connect(giulia.token);

    const first = await openDm(mario, giulia);
    assert.equal(first.status, 201);
    assert.equal(first.room.kind, 'dm');
    assert.equal(first.room.name, 'Bianchi Giulia');
    const again = await openDm(mario, giulia);
    assert.equal(again.status, 200);
    assert.equal(again.room.roomId, first.room.roomId);
    const fromOtherSide = await openDm(giulia, mario);
    assert.equal(fromOtherSide.room.roomId, first.room.roomId);

    const received = nextMessage(giuliaSocket, 'ciao **Giulia**, <b>vedi</b> `x`');
    const eventId = await send(mario, first.room.roomId, { body: 'ciao **Giulia**, <b>vedi</b> `x`' });
    const message = await received;
    assert.equal(message.eventId, eventId);
    assert.equal(message.roomId, first.room.roomId);
    assert.equal(message.sender.mxid, mxidOf(mario));
    assert.equal(message.sender.userId, mario.id);
    assert.equal(message.sender.extension, mario.extension);
    assert.equal(message.sender.displayName, 'Rossi Mario');
    assert.equal(
      message.formattedBody,
      'ciao <strong>Giulia</strong>, &lt;b&gt;vedi&lt;/b&gt; <code>x</code>',
    );

    // m.direct account data marks it as a DM for Matrix clients too.
    const direct = await asMatrixUser<Record<string, string[]>>(
      mxidOf(giulia),
      `/user/${encodeURIComponent(mxidOf(giulia))}/account_data/m.direct`,
    );
    assert.deepEqual(direct.body[mxidOf(mario)], [first.room.roomId]);

    // A reply and an edit arrive with their relations.
    const reply = nextMessage(giuliaSocket, 'risposta');
    await send(mario, first.room.roomId, { body: 'risposta', replyTo: eventId });
    assert.equal((await reply).replyTo, eventId);
    const edited = nextMessage(giuliaSocket, 'corretto');
    const res = await chat.fx.api(
      'PUT',
      `/api/chat/rooms/${encodeURIComponent(first.room.roomId)}/messages/${encodeURIComponent(eventId)}`,
      { token: mario.token, body: { body: 'corretto' } },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await edited).edits, eventId);
    // Someone else's message cannot be edited.
    const notMine = await chat.fx.api(
      'PUT',
      `/api/chat/rooms/${encodeURIComponent(first.room.roomId)}/messages/${encodeURIComponent(eventId)}`,
      { token: giulia.token, body: { body: 'hack' } },
    );
    assert.equal(notMine.status, 403);

    // History goes backwards, newest first, page by page.
    const page1 = await chat.fx.api(
      'GET',
      `/api/chat/rooms/${encodeURIComponent(first.room.roomId)}/messages?limit=2`,
      { token: giulia.token },
    );
    assert.equal(page1.status, 200, JSON.stringify(page1.body));
    const p1 = page1.body as { items: ChatMessageView[]; next?: string };
    assert.deepEqual(
      p1.items.map((m) => m.body),
      ['corretto', 'risposta'],
    );
    assert.ok(p1.next);
    const page2 = await chat.fx.api(
      'GET',
      `/api/chat/rooms/${encodeURIComponent(first.room.roomId)}/messages?limit=2&from=${encodeURIComponent(p1.next)}`,
      { token: giulia.token },
    );
    const p2 = page2.body as { items: ChatMessageView[] };
    assert.equal(p2.items[0]?.body, 'ciao **Giulia**, <b>vedi</b> `x`');
  });

  it('runs a group of three with name and topic, fans out to all, and stops delivery on removal', async () => {
    const [anna, bruno, carla] = [
      await user('Anna', 'Neri'),
      await user('Bruno', 'Verdi'),
      await user('Carla', 'Gialli'),
    ] as [TestUser, TestUser, TestUser];
    const [sa, sb, sc] = [
      await chat.sockets.connect(anna.token),
      await chat.sockets.connect(bruno.token),
      await chat.sockets.connect(carla.token),
    ] as [ClientSocket, ClientSocket, ClientSocket];

    const tooFew = await chat.fx.api('POST', '/api/chat/rooms', {
      token: anna.token,
      body: { name: 'Solo', memberIds: [bruno.id] },
    });
    assert.equal(tooFew.status, 400);

    const created = await chat.fx.api('POST', '/api/chat/rooms', {
      token: anna.token,
      body: { name: 'Progetto X', description: 'Il gruppo del progetto', memberIds: [bruno.id, carla.id] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const room = created.body as ChatRoomView;
    assert.equal(room.kind, 'group');
    assert.equal(room.name, 'Progetto X');
    assert.equal(room.topic, 'Il gruppo del progetto');
    assert.deepEqual(room.members.map((m) => m.userId).sort(), [anna.id, bruno.id, carla.id].sort());

    // Matrix has the name and topic.
    const name = await asMatrixUser<{ name: string }>(
      mxidOf(bruno),
      `/rooms/${encodeURIComponent(room.roomId)}/state/m.room.name/`,
    );
    assert.equal(name.body.name, 'Progetto X');
    const topic = await asMatrixUser<{ topic: string }>(
      mxidOf(bruno),
      `/rooms/${encodeURIComponent(room.roomId)}/state/m.room.topic/`,
    );
    assert.equal(topic.body.topic, 'Il gruppo del progetto');

    const all = [nextMessage(sa, 'a tutti'), nextMessage(sb, 'a tutti'), nextMessage(sc, 'a tutti')];
    await send(bruno, room.roomId, { body: 'a tutti' });
    for (const m of await Promise.all(all)) assert.equal(m.sender.userId, bruno.id);

    const removed = await chat.fx.api(
      'DELETE',
      `/api/chat/rooms/${encodeURIComponent(room.roomId)}/members/${carla.id}`,
      { token: bruno.token },
    );
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(
      (removed.body as ChatRoomView).members.map((m) => m.userId).sort(),
      [anna.id, bruno.id].sort(),
    );
    const carlaSeen = collect(sc);
    const after = [nextMessage(sa, 'senza Carla'), nextMessage(sb, 'senza Carla')];
    await send(anna, room.roomId, { body: 'senza Carla' });
    await Promise.all(after);
    // The message was handled (and told to every member at once) when Anna and Bruno got it: a round trip on
    // Carla's socket brings anything it told her.
    await roundTrip(sc);
    assert.deepEqual(carlaSeen, []);
    // Carla can no longer write there, nor see it in her list.
    const refused = await chat.fx.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/messages`, {
      token: carla.token,
      body: { body: 'ci sono?' },
    });
    assert.equal(refused.status, 404);
    assert.equal((await rooms(carla)).length, 0);

    // Rename through the API reaches Matrix.
    const renamed = await chat.fx.api('PATCH', `/api/chat/rooms/${encodeURIComponent(room.roomId)}`, {
      token: bruno.token,
      body: { name: 'Progetto Y' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const newName = await asMatrixUser<{ name: string }>(
      mxidOf(anna),
      `/rooms/${encodeURIComponent(room.roomId)}/state/m.room.name/`,
    );
    assert.equal(newName.body.name, 'Progetto Y');
  });

  it('propagates a rename to Matrix and makes a disabled colleague leave every room', async () => {
    const admin = await chat.fx.createUser({ firstName: 'Ada', lastName: 'Admin', role: 'admin' });
    const paolo = await user('Paolo', 'Greco');
    const rita = await user('Rita', 'Marino');
    const { room } = await openDm(paolo, rita);

    const renamed = await chat.fx.api('PATCH', `/api/directory/users/${paolo.id}`, {
      token: admin.token,
      body: { firstName: 'Paolino' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    await eventually('the new Matrix display name', CHAT_EVENT_TIMEOUT_MS, async () => {
      const profile = await asMatrixUser<{ displayname?: string }>(
        mxidOf(paolo),
        `/profile/${encodeURIComponent(mxidOf(paolo))}`,
      );
      return profile.body.displayname === `Paolino Greco (${paolo.extension})` ? true : undefined;
    });

    const disabled = await chat.fx.api('PATCH', `/api/directory/users/${paolo.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(disabled.status, 200);
    await eventually('Paolo out of the room', CHAT_EVENT_TIMEOUT_MS, async () => {
      const members = await asMatrixUser<{ joined: Record<string, unknown> }>(
        mxidOf(rita),
        `/rooms/${encodeURIComponent(room.roomId)}/joined_members`,
      );
      return mxidOf(paolo) in members.body.joined ? undefined : true;
    });
    // The account is marked too (the bridge marks it before leaving; the wait keeps the test free of that order).
    await eventually('the disabled mark on the name', CHAT_EVENT_TIMEOUT_MS, async () => {
      const profile = await asMatrixUser<{ displayname?: string }>(
        mxidOf(rita),
        `/profile/${encodeURIComponent(mxidOf(paolo))}`,
      );
      return /disattivato/.test(profile.body.displayname ?? '') ? true : undefined;
    });

    // Re-enabling restores the name; reopening the DM brings Paolo back into the same room.
    await chat.fx.api('PATCH', `/api/directory/users/${paolo.id}`, {
      token: admin.token,
      body: { disabled: false },
    });
    await eventually('the restored display name', CHAT_EVENT_TIMEOUT_MS, async () => {
      const p = await asMatrixUser<{ displayname?: string }>(
        mxidOf(rita),
        `/profile/${encodeURIComponent(mxidOf(paolo))}`,
      );
      return p.body.displayname === `Paolino Greco (${paolo.extension})` ? true : undefined;
    });
    const reopened = await openDm(rita, paolo);
    assert.equal(reopened.room.roomId, room.roomId);
  });

  it('loses no update of a room’s cache when members are added, receipts posted and messages arrive at once', async () => {
    const { matrix } = testStack();
    const PUSHED = 16;
    const SENT = 3;
    const [ada, bruno, carla] = [
      await user('Ada', 'Fumagalli'),
      await user('Bruno', 'Sala'),
      await user('Carla', 'Riva'),
    ] as [TestUser, TestUser, TestUser];
    const newcomers = [
      await user('Dario', 'Monti'),
      await user('Elsa', 'Fiore'),
      await user('Fabio', 'Greco'),
      await user('Gaia', 'Marino'),
    ];
    const carlaSocket = await chat.sockets.connect(carla.token);
    const created = await chat.fx.api('POST', '/api/chat/rooms', {
      token: ada.token,
      body: { name: 'Cantiere', memberIds: [bruno.id, carla.id] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { roomId } = created.body as ChatRoomView;
    const roomPath = `/api/chat/rooms/${encodeURIComponent(roomId)}`;

    // Two messages from Ada: unread for Bruno and Carla.
    const both = [nextMessage(carlaSocket, 'prima'), nextMessage(carlaSocket, 'seconda')];
    await send(ada, roomId, { body: 'prima' });
    const second = await send(ada, roomId, { body: 'seconda' });
    await Promise.all(both);

    // Bruno's messages pushed straight to the bridge, one transaction each and all at once, so that their
    // updates of the room overlap each other and the HTTP calls below (Synapse alone sends one at a time).
    const push = (i: number): Promise<number> =>
      fetch(`${chat.fx.baseUrl}/_matrix/app/v1/transactions/race-${randomUUID()}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${matrix.hsToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          events: [
            {
              type: 'm.room.message',
              room_id: roomId,
              sender: mxidOf(bruno),
              event_id: `$race-${randomUUID()}`,
              origin_server_ts: Date.now(),
              content: { msgtype: 'm.text', body: `in gara ${i}` },
            },
          ],
        }),
      }).then((r) => r.status);
    const statuses = await Promise.all([
      ...Array.from({ length: PUSHED }, (_, i) => push(i)),
      ...Array.from({ length: SENT }, (_, i) =>
        send(bruno, roomId, { body: `inviato ${i}` }).then(() => 201),
      ),
      chat.fx
        .api('POST', `${roomPath}/read`, { token: bruno.token, body: { eventId: second } })
        .then((r) => r.status),
      ...newcomers.map((u) =>
        chat.fx
          .api('POST', `${roomPath}/members`, { token: ada.token, body: { userIds: [u.id] } })
          .then((r) => r.status),
      ),
      chat.fx
        .api('PATCH', roomPath, { token: ada.token, body: { name: 'Cantiere nord' } })
        .then((r) => r.status),
    ]);
    assert.deepEqual(statuses, [
      ...Array<number>(PUSHED).fill(200),
      ...Array<number>(SENT).fill(201),
      204,
      ...Array<number>(newcomers.length).fill(200),
      200,
    ]);
    // Synapse delivers in order: once this last message is here, every event of the calls above was handled.
    const last = nextMessage(carlaSocket, 'fine');
    await send(bruno, roomId, { body: 'fine' });
    await last;

    const fromBruno = PUSHED + SENT + 1;
    const seenByCarla = await getRoom(carla, roomId);
    assert.equal(seenByCarla.unread, 2 + fromBruno, 'every message counted for Carla, who read none');
    assert.equal(seenByCarla.lastMessage?.body, 'fine');
    assert.equal(seenByCarla.name, 'Cantiere nord');
    assert.deepEqual(
      seenByCarla.members.map((m) => m.userId).sort(),
      [ada, bruno, carla, ...newcomers].map((u) => u.id).sort(),
    );
    assert.equal((await getRoom(ada, roomId)).unread, fromBruno, 'every message of Bruno counted for Ada');
    // Bruno read Ada's messages while his own arrived: his reset is kept.
    assert.equal((await getRoom(bruno, roomId)).unread, 0);
  });

  it('validates input and hides rooms the caller is not in', async () => {
    const a = await user('Aldo', 'Moretti');
    const bad = await chat.fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: 'nope' } });
    assert.equal(bad.status, 400);
    const self = await chat.fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: a.id } });
    assert.equal(self.status, 400);
    const other = await chat.fx.api('GET', `/api/chat/rooms/${encodeURIComponent('!nope:ucc.localhost')}`, {
      token: a.token,
    });
    assert.equal(other.status, 404);
    const anonymous = await chat.fx.api('GET', '/api/chat/rooms');
    assert.equal(anonymous.status, 401);
  });
});
