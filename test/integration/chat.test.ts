import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, Direction, type MatrixClient } from 'matrix-js-sdk';
import type {
  ChatMessageView,
  ChatReadView,
  ChatRoomView,
  MeetingChatMessageView,
} from '../../shared/schemas/chat.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { freePort } from '../../server/stack/ports.js';
import { SynapseService } from '../../server/stack/SynapseService.js';
import { registerMatrixUser, type RegisteredMatrixUser } from '../harness/matrixUsers.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import {
  ackData,
  nextChatMessage,
  nextEvent,
  request,
  SocketPool,
  type ClientSocket,
  ackErrorCode,
} from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

const EVENT_TIMEOUT_MS = 10_000;
const UPLOAD_LIMIT = 4_096;
/** A valid 1×1 PNG, so that Synapse can make a thumbnail of it. */
const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

interface ErrorBody {
  error: { code: string };
}

/** Polls until `check` returns a value (not undefined), or fails after the timeout. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The next meeting.chat.message on a socket whose body matches. */
function nextMeetingMessage(socket: ClientSocket, body: string): Promise<MeetingChatMessageView> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no meeting message "${body}"`)), EVENT_TIMEOUT_MS);
    const listener = (m: MeetingChatMessageView): void => {
      if (m.body !== body) return;
      clearTimeout(timer);
      socket.off('meeting.chat.message', listener);
      resolve(m);
    };
    socket.on('meeting.chat.message', listener);
  });
}

/** Collects every `chat.message` a socket receives. */
function collect(socket: ClientSocket): ChatMessageView[] {
  const seen: ChatMessageView[] = [];
  socket.on('chat.message', (m) => seen.push(m));
  return seen;
}

/** The next chat.message on a socket whose body matches. */
function nextMessage(socket: ClientSocket, body: string): Promise<ChatMessageView> {
  return nextChatMessage(socket, body, EVENT_TIMEOUT_MS);
}

describe('chat over Matrix (real Synapse, appservice bridge)', function () {
  this.timeout(60_000);
  let fx: ServerFixture;
  let sockets: SocketPool;
  const matrixClients: MatrixClient[] = [];

  before(async () => {
    const stack = testStack();
    const bridgeUrl = stack.config.matrix.mode === 'embedded' ? stack.config.matrix.bridgeUrl : '';
    // Synapse pushes transactions to the bridge URL it was started with: this server must listen there.
    fx = await startServer({
      config: {
        http: { ...stack.config.http, port: Number(new URL(bridgeUrl).port) },
        chat: { ...stack.config.chat, maxUploadBytes: UPLOAD_LIMIT },
      },
    });
    sockets = new SocketPool(fx.baseUrl);
  });

  after(async () => {
    await fx.close();
  });

  afterEach(() => {
    sockets.closeAll();
    for (const c of matrixClients.splice(0)) c.stopClient();
  });

  async function user(firstName: string, lastName: string): Promise<TestUser> {
    return fx.createUser({ firstName, lastName });
  }

  async function openDm(a: TestUser, b: TestUser): Promise<{ status: number; room: ChatRoomView }> {
    const res = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: b.id } });
    assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
    return { status: res.status, room: res.body as ChatRoomView };
  }

  async function send(u: TestUser, roomId: string, body: Record<string, unknown>): Promise<string> {
    const res = await fx.api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
      token: u.token,
      body,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { eventId: string }).eventId;
  }

  async function getRoom(u: TestUser, roomId: string): Promise<ChatRoomView> {
    const res = await fx.api('GET', `/api/chat/rooms/${encodeURIComponent(roomId)}`, { token: u.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as ChatRoomView;
  }

  async function rooms(u: TestUser): Promise<ChatRoomView[]> {
    const res = await fx.api('GET', '/api/chat/rooms', { token: u.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { items: ChatRoomView[] }).items;
  }

  /** A client-server call as one of the bridge's users, the way a Matrix admin would look. */
  async function asMatrixUser<T>(mxid: string, path: string): Promise<{ status: number; body: T }> {
    const { matrix } = testStack();
    const url = new URL(`${matrix.homeserverUrl}/_matrix/client/v3${path}`);
    url.searchParams.set('user_id', mxid);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${matrix.asToken}` } });
    return { status: res.status, body: (await res.json()) as T };
  }

  /**
   * A client-server call that writes, the way a Matrix client such as Element would: as a plain Matrix user with
   * their own token, or as one of the bridge's users (a colleague on Element) through the appservice token.
   */
  async function matrixWrite(
    as: { token: string } | { mxid: string },
    method: 'PUT' | 'POST',
    path: string,
    body: object = {},
  ): Promise<void> {
    const { matrix } = testStack();
    const url = new URL(`${matrix.homeserverUrl}/_matrix/client/v3${path}`);
    if ('mxid' in as) url.searchParams.set('user_id', as.mxid);
    const res = await fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${'token' in as ? as.token : matrix.asToken}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  }

  /**
   * A plain Matrix user (someone on Element) who creates a room and invites these colleagues; the bridge accepts
   * for them. Resolves once the room, with its creator among the members, is in every colleague's list.
   */
  async function elementRoom(
    displayName: string,
    invitees: TestUser[],
  ): Promise<{ plain: RegisteredMatrixUser; client: MatrixClient; roomId: string }> {
    const { matrix } = testStack();
    const plain = await registerMatrixUser(matrix, `element_${randomUUID().slice(0, 8)}`, 'correct horse');
    const client = createClient({
      baseUrl: matrix.homeserverUrl,
      userId: plain.userId,
      accessToken: plain.accessToken,
    });
    matrixClients.push(client);
    await client.setDisplayName(displayName);
    // A colleague's Matrix account must exist before they can be invited: any API use provisions it.
    for (const u of invitees) await rooms(u);
    const { room_id: roomId } = await client.createRoom({
      name: `Da ${displayName}`,
      invite: invitees.map(mxidOf),
    });
    for (const u of invitees) {
      await waitFor(`the room, with its creator, in ${u.extension}’s list`, async () =>
        (await rooms(u)).find((r) => r.roomId === roomId && r.members.some((m) => m.mxid === plain.userId)),
      );
    }
    return { plain, client, roomId };
  }

  /** A link-only meeting starting now, lasting an hour. */
  async function scheduleNow(organizer: TestUser): Promise<MeetingView> {
    const res = await fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: { title: 'Riunione chat', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as MeetingView;
  }

  async function guestSocketFor(meeting: MeetingView, name: string): Promise<ClientSocket> {
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    const res = await fx.api('POST', `/api/guest/${code}/join`, { body: { displayName: name } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return sockets.connect((res.body as { guestToken: string }).guestToken);
  }

  function mxidOf(u: TestUser): string {
    return `@ucc_${u.extension}:${testStack().matrix.serverName}`;
  }

  it('opens a DM that delivers to the other socket, and reopening returns the same room', async () => {
    const mario = await user('Mario', 'Rossi');
    const giulia = await user('Giulia', 'Bianchi');
    const giuliaSocket = await sockets.connect(giulia.token);

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
    const res = await fx.api(
      'PUT',
      `/api/chat/rooms/${encodeURIComponent(first.room.roomId)}/messages/${encodeURIComponent(eventId)}`,
      { token: mario.token, body: { body: 'corretto' } },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await edited).edits, eventId);
    // Someone else's message cannot be edited.
    const notMine = await fx.api(
      'PUT',
      `/api/chat/rooms/${encodeURIComponent(first.room.roomId)}/messages/${encodeURIComponent(eventId)}`,
      { token: giulia.token, body: { body: 'hack' } },
    );
    assert.equal(notMine.status, 403);

    // History goes backwards, newest first, page by page.
    const page1 = await fx.api(
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
    const page2 = await fx.api(
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
      await sockets.connect(anna.token),
      await sockets.connect(bruno.token),
      await sockets.connect(carla.token),
    ] as [ClientSocket, ClientSocket, ClientSocket];

    const tooFew = await fx.api('POST', '/api/chat/rooms', {
      token: anna.token,
      body: { name: 'Solo', memberIds: [bruno.id] },
    });
    assert.equal(tooFew.status, 400);

    const created = await fx.api('POST', '/api/chat/rooms', {
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

    const removed = await fx.api(
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
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(carlaSeen, []);
    // Carla can no longer write there, nor see it in her list.
    const refused = await fx.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/messages`, {
      token: carla.token,
      body: { body: 'ci sono?' },
    });
    assert.equal(refused.status, 404);
    assert.equal((await rooms(carla)).length, 0);

    // Rename through the API reaches Matrix.
    const renamed = await fx.api('PATCH', `/api/chat/rooms/${encodeURIComponent(room.roomId)}`, {
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

  it('interoperates with a plain Matrix client in both directions', async () => {
    const { matrix } = testStack();
    const elena = await user('Elena', 'Russo');
    const socket = await sockets.connect(elena.token);
    const plain = await registerMatrixUser(matrix, `element_${randomUUID().slice(0, 8)}`, 'correct horse');
    const client = createClient({
      baseUrl: matrix.homeserverUrl,
      userId: plain.userId,
      accessToken: plain.accessToken,
    });
    matrixClients.push(client);
    await client.setDisplayName('Ospite Element');

    // The bridge's user must exist before an Element user can invite it: any API use provisions it.
    assert.equal((await rooms(elena)).length, 0);
    const { room_id: roomId } = await client.createRoom({ name: 'Da Element', invite: [mxidOf(elena)] });
    // The bridge accepts the invitation on Elena's behalf; the room shows up in her list.
    await waitFor('the room in Elena’s list', async () =>
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
    const doraSocket = await sockets.connect(dora.token);

    // Typing in Element: Dora's socket learns who started, then that they stopped.
    const started = nextEvent(doraSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    await client.sendTyping(roomId, true, 30_000);
    const typing = await started;
    assert.equal(typing.roomId, roomId);
    assert.equal(typing.typing, true);
    assert.equal(typing.user.mxid, plain.userId);
    assert.equal(typing.user.userId, undefined);
    assert.equal(typing.user.displayName, 'Collega Element');
    // Synapse pushes nothing more while they keep typing; the bridge reminds Dora's client, which would otherwise
    // drop the notice after a few seconds.
    const reminded = await nextEvent(doraSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    assert.deepEqual(reminded, typing);
    const stopped = nextEvent(doraSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    await client.sendTyping(roomId, false, 0);
    const stop = await stopped;
    assert.equal(stop.typing, false);
    assert.equal(stop.user.mxid, plain.userId);

    // They read Dora's message in Element: her socket gets chat.read, and the room's reads show it ("Letto").
    const eventId = await send(dora, roomId, { body: 'l’hai letto?' });
    const before = Date.now();
    const read = nextEvent(doraSocket, 'chat.read', EVENT_TIMEOUT_MS);
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
    const [ezioSocket, fedeSocket] = [await sockets.connect(ezio.token), await sockets.connect(fede.token)];
    const both = [nextMessage(fedeSocket, 'uno'), nextMessage(fedeSocket, 'due')];
    await client.sendTextMessage(roomId, 'uno');
    const { event_id: last } = await client.sendTextMessage(roomId, 'due');
    await Promise.all(both);
    assert.equal((await getRoom(ezio, roomId)).unread, 2);
    const inRoom = `/rooms/${encodeURIComponent(roomId)}`;

    // Ezio types in Element (his own mxid; the appservice token stands in for his Element login).
    const started = nextEvent(fedeSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    const typingPath = `${inRoom}/typing/${encodeURIComponent(mxidOf(ezio))}`;
    await matrixWrite({ mxid: mxidOf(ezio) }, 'PUT', typingPath, { typing: true, timeout: 30_000 });
    const typing = await started;
    assert.equal(typing.typing, true);
    assert.equal(typing.user.userId, ezio.id);
    assert.equal(typing.user.displayName, 'Vela Ezio');
    const stopped = nextEvent(fedeSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    await matrixWrite({ mxid: mxidOf(ezio) }, 'PUT', typingPath, { typing: false });
    assert.equal((await stopped).typing, false);

    // Ezio reads in Element: his unread count resets, and every member (his own devices too) learns it.
    const toFede = nextEvent(fedeSocket, 'chat.read', EVENT_TIMEOUT_MS);
    const toEzio = nextEvent(ezioSocket, 'chat.read', EVENT_TIMEOUT_MS);
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
    const fedeDevice = nextEvent(fedeSocket, 'chat.read', EVENT_TIMEOUT_MS);
    await matrixWrite(
      { mxid: mxidOf(fede) },
      'POST',
      `${inRoom}/receipt/m.read.private/${encodeURIComponent(last)}`,
    );
    const own = await fedeDevice;
    assert.equal(own.userId, fede.id);
    assert.equal(own.eventId, last);
    assert.equal((await rooms(fede)).find((r) => r.roomId === roomId)?.unread, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(ezioSeen, []);
    assert.deepEqual(
      (await getRoom(ezio, roomId)).reads.map((r) => r.userId),
      [ezio.id],
    );
  });

  it('verifies the hs_token and handles each transaction once, even when replayed', async () => {
    const { matrix } = testStack();
    const url = (txn: string): string => `${fx.baseUrl}/_matrix/app/v1/transactions/${txn}`;
    const put = (txn: string, token: string, body: unknown): Promise<Response> =>
      fetch(url(txn), {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    const bad = await put('x1', 'not-the-token', { events: [] });
    assert.equal(bad.status, 403);
    assert.equal(((await bad.json()) as { errcode: string }).errcode, 'M_FORBIDDEN');
    const none = await fetch(url('x2'), { method: 'PUT', body: '{}' });
    assert.equal(none.status, 401);

    const luca = await user('Luca', 'Colombo');
    const sara = await user('Sara', 'Fontana');
    const { room } = await openDm(luca, sara);
    const saraSocket = await sockets.connect(sara.token);
    const seen = collect(saraSocket);
    const event = {
      type: 'm.room.message',
      room_id: room.roomId,
      sender: mxidOf(luca),
      event_id: `$synthetic-${randomUUID()}`,
      origin_server_ts: Date.now(),
      content: { msgtype: 'm.text', body: 'una volta sola' },
    };
    const txnId = `test-${randomUUID()}`;
    const first = await put(txnId, matrix.hsToken, { events: [event] });
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), {});
    const replay = await put(txnId, matrix.hsToken, { events: [event] });
    assert.equal(replay.status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(seen.filter((m) => m.body === 'una volta sola').length, 1);

    // Ephemeral data alone, under the stable key or the unstable MSC2409 one: a malformed entry is skipped, the
    // rest handled; a replay is ignored, while a txnId reused with other data (Synapse restarted) is handled.
    const typers: [string, boolean][] = [];
    saraSocket.on('chat.typing', (v) => typers.push([v.user.mxid, v.typing]));
    const anna = `@anna_${randomUUID().slice(0, 8)}:${matrix.serverName}`;
    const bea = `@bea_${randomUUID().slice(0, 8)}:${matrix.serverName}`;
    const typingOf = (ids: string[]) => ({
      type: 'm.typing',
      room_id: room.roomId,
      content: { user_ids: ids },
    });
    const [typingTxn, stopTxn] = [`eph-${randomUUID()}`, `eph-${randomUUID()}`];
    const started = {
      events: [],
      ephemeral: [{ type: 'm.receipt', room_id: room.roomId, content: { bad: 1 } }, typingOf([anna])],
    };
    assert.equal((await put(typingTxn, matrix.hsToken, started)).status, 200);
    assert.equal((await put(stopTxn, matrix.hsToken, { ephemeral: [typingOf([])] })).status, 200);
    assert.equal((await put(typingTxn, matrix.hsToken, started)).status, 200);
    const reused = { events: [], 'de.sorunome.msc2409.ephemeral': [typingOf([bea])] };
    assert.equal((await put(typingTxn, matrix.hsToken, reused)).status, 200);
    await waitFor('three typing changes', () => Promise.resolve(typers.length >= 3 ? true : undefined));
    assert.deepEqual(typers, [
      [anna, true],
      [anna, false],
      [bea, true],
    ]);

    // The user query and the ping.
    const known = await fetch(`${fx.baseUrl}/_matrix/app/v1/users/${encodeURIComponent(mxidOf(luca))}`, {
      headers: { Authorization: `Bearer ${matrix.hsToken}` },
    });
    assert.equal(known.status, 200);
    const unknown = await fetch(
      `${fx.baseUrl}/_matrix/app/v1/users/${encodeURIComponent(`@ucc_99999:${matrix.serverName}`)}`,
      { headers: { Authorization: `Bearer ${matrix.hsToken}` } },
    );
    assert.equal(unknown.status, 404);
    const ping = await fetch(`${fx.baseUrl}/_matrix/app/v1/ping`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${matrix.hsToken}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.equal(ping.status, 200);
  });

  it('propagates a rename to Matrix and makes a disabled colleague leave every room', async () => {
    const admin = await fx.createUser({ firstName: 'Ada', lastName: 'Admin', role: 'admin' });
    const paolo = await user('Paolo', 'Greco');
    const rita = await user('Rita', 'Marino');
    const { room } = await openDm(paolo, rita);

    const renamed = await fx.api('PATCH', `/api/directory/users/${paolo.id}`, {
      token: admin.token,
      body: { firstName: 'Paolino' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    await waitFor('the new Matrix display name', async () => {
      const profile = await asMatrixUser<{ displayname?: string }>(
        mxidOf(paolo),
        `/profile/${encodeURIComponent(mxidOf(paolo))}`,
      );
      return profile.body.displayname === `Paolino Greco (${paolo.extension})` ? true : undefined;
    });

    const disabled = await fx.api('PATCH', `/api/directory/users/${paolo.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(disabled.status, 200);
    await waitFor('Paolo out of the room', async () => {
      const members = await asMatrixUser<{ joined: Record<string, unknown> }>(
        mxidOf(rita),
        `/rooms/${encodeURIComponent(room.roomId)}/joined_members`,
      );
      return mxidOf(paolo) in members.body.joined ? undefined : true;
    });
    // The account is marked too (the bridge marks it before leaving; the wait keeps the test free of that order).
    await waitFor('the disabled mark on the name', async () => {
      const profile = await asMatrixUser<{ displayname?: string }>(
        mxidOf(rita),
        `/profile/${encodeURIComponent(mxidOf(paolo))}`,
      );
      return /disattivato/.test(profile.body.displayname ?? '') ? true : undefined;
    });

    // Re-enabling restores the name; reopening the DM brings Paolo back into the same room.
    await fx.api('PATCH', `/api/directory/users/${paolo.id}`, {
      token: admin.token,
      body: { disabled: false },
    });
    await waitFor('the restored display name', async () => {
      const p = await asMatrixUser<{ displayname?: string }>(
        mxidOf(rita),
        `/profile/${encodeURIComponent(mxidOf(paolo))}`,
      );
      return p.body.displayname === `Paolino Greco (${paolo.extension})` ? true : undefined;
    });
    const reopened = await openDm(rita, paolo);
    assert.equal(reopened.room.roomId, room.roomId);
  });

  it('counts unread messages, puts unread rooms on top, and resets them with a read receipt', async () => {
    const ugo = await user('Ugo', 'Conti');
    const vera = await user('Vera', 'Costa');
    const zoe = await user('Zoe', 'Lombardi');
    const veraSocket = await sockets.connect(vera.token);
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

    const read = await fx.api('POST', `/api/chat/rooms/${encodeURIComponent(busy.room.roomId)}/read`, {
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

  it('sends files through the media repository and refuses one over the limit', async () => {
    const ivo = await user('Ivo', 'Galli');
    const lia = await user('Lia', 'Serra');
    const { room } = await openDm(ivo, lia);
    const liaSocket = await sockets.connect(lia.token);
    const path = `/api/chat/rooms/${encodeURIComponent(room.roomId)}/files?name=nota.bin`;

    const arrived = nextMessage(liaSocket, 'nota.bin');
    const ok = await fx.api('POST', path, {
      token: ivo.token,
      body: 'x'.repeat(100),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const message = await arrived;
    assert.equal(message.msgtype, 'm.file');
    assert.match(message.file?.url ?? '', /^mxc:\/\//);
    assert.equal(message.file?.size, 100);

    const tooBig = await fx.api('POST', path, {
      token: ivo.token,
      body: 'x'.repeat(UPLOAD_LIMIT + 1),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(tooBig.status, 413);
    assert.equal((tooBig.body as ErrorBody).error.code, 'FILE_TOO_LARGE');
  });

  it('shares read receipts: the DM partner sees who read what, in the room and on the socket', async () => {
    const alba = await user('Alba', 'Ricci');
    const bice = await user('Bice', 'Longo');
    const { room } = await openDm(alba, bice);
    const [albaSocket, biceSocket, biceTablet] = [
      await sockets.connect(alba.token),
      await sockets.connect(bice.token),
      await sockets.connect(bice.token),
    ];
    const arrived = nextMessage(biceSocket, 'hai visto?');
    const eventId = await send(alba, room.roomId, { body: 'hai visto?' });
    const message = await arrived;
    assert.deepEqual((await getRoom(alba, room.roomId)).reads, []);

    const before = Date.now();
    const albaReads: ChatReadView[] = [];
    albaSocket.on('chat.read', (v) => albaReads.push(v));
    const seenByAlba = nextEvent(albaSocket, 'chat.read', EVENT_TIMEOUT_MS);
    const seenByTablet = nextEvent(biceTablet, 'chat.read', EVENT_TIMEOUT_MS);
    const read = await fx.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/read`, {
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
    await new Promise((r) => setTimeout(r, 500));
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
      fx.api('POST', `/api/chat/rooms/${encodeURIComponent(room.roomId)}/read`, {
        token: u.token,
        body: { eventId: reply },
      });
    const albaRead = nextEvent(biceSocket, 'chat.read', EVENT_TIMEOUT_MS);
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
    const carlaSocket = await sockets.connect(carla.token);
    const created = await fx.api('POST', '/api/chat/rooms', {
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
      fetch(`${fx.baseUrl}/_matrix/app/v1/transactions/race-${randomUUID()}`, {
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
      fx
        .api('POST', `${roomPath}/read`, { token: bruno.token, body: { eventId: second } })
        .then((r) => r.status),
      ...newcomers.map((u) =>
        fx
          .api('POST', `${roomPath}/members`, { token: ada.token, body: { userIds: [u.id] } })
          .then((r) => r.status),
      ),
      fx.api('PATCH', roomPath, { token: ada.token, body: { name: 'Cantiere nord' } }).then((r) => r.status),
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

  it('downloads a room’s files from the media repository, byte for byte, with headers safe for user content', async () => {
    const nina = await user('Nina', 'Fabbri');
    const otto = await user('Otto', 'Marchi');
    const { room } = await openDm(nina, otto);
    const files = `/api/chat/rooms/${encodeURIComponent(room.roomId)}/files`;
    const upload = async (name: string, type: string, data: Buffer): Promise<string> => {
      const res = await fetch(`${fx.baseUrl}${files}?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${nina.token}`, 'Content-Type': type },
        body: data,
      });
      const text = await res.text();
      assert.equal(res.status, 201, text);
      return (JSON.parse(text) as { url: string }).url;
    };
    const download = (url: string, token?: string): Promise<Response> =>
      fetch(`${fx.baseUrl}${url}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
    const routeOf = (mxc: string): string => {
      const [serverName, mediaId] = mxc.replace(/^mxc:\/\//, '').split('/') as [string, string];
      return `${files}/${encodeURIComponent(serverName)}/${encodeURIComponent(mediaId)}`;
    };

    // An image, with a name that needs RFC 5987: shown inline, and never run.
    const image = await upload('foto è (1).png', 'image/png', PNG_1X1);
    const res = await download(routeOf(image), otto.token);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG_1X1);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-length'), String(PNG_1X1.byteLength));
    assert.equal(
      res.headers.get('content-disposition'),
      `inline; filename="foto _ (1).png"; filename*=UTF-8''foto%20%C3%A8%20%281%29.png`,
    );
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);

    const thumbnail = await download(`${routeOf(image)}?thumbnail=1`, otto.token);
    assert.equal(thumbnail.status, 200);
    assert.match(thumbnail.headers.get('content-type') ?? '', /^image\//);
    assert.ok((await thumbnail.arrayBuffer()).byteLength > 0);

    // Anything else is a download, whatever it claims to be.
    const page = Buffer.from('<script>alert(1)</script>');
    const html = await upload('pagina.html', 'text/html', page);
    const asFile = await download(routeOf(html), nina.token);
    assert.equal(asFile.status, 200);
    assert.deepEqual(Buffer.from(await asFile.arrayBuffer()), page);
    assert.equal(
      asFile.headers.get('content-disposition'),
      `attachment; filename="pagina.html"; filename*=UTF-8''pagina.html`,
    );
    assert.equal(asFile.headers.get('content-security-policy'), 'sandbox');
    const noThumbnail = await download(`${routeOf(html)}?thumbnail=1`, nina.token);
    assert.equal(noThumbnail.status, 404);
    assert.equal(((await noThumbnail.json()) as ErrorBody).error.code, 'NOT_FOUND');

    // Not a member, not ours, not a media id, not there, not signed in.
    const outsider = await user('Pia', 'Esterna');
    const refused = await download(routeOf(image), outsider.token);
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as ErrorBody).error.code, 'NOT_FOUND');
    const mediaId = image.split('/').pop() ?? '';
    const elsewhere = await download(`${files}/example.org/${mediaId}`, otto.token);
    assert.equal(elsewhere.status, 404);
    const bad = await download(`${files}/${testStack().matrix.serverName}/bad.id`, otto.token);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as ErrorBody).error.code, 'VALIDATION_FAILED');
    const badQuery = await download(`${routeOf(image)}?thumbnail=yes`, otto.token);
    assert.equal(badQuery.status, 400);
    const missing = await download(`${files}/${testStack().matrix.serverName}/NoSuchMedia123`, otto.token);
    assert.equal(missing.status, 404);
    assert.deepEqual(((await missing.json()) as ErrorBody).error.code, 'NOT_FOUND');
    assert.equal((await download(routeOf(image))).status, 401);
  });

  it('relays typing from a socket to the other member, and refuses it to guests', async () => {
    const teo = await user('Teo', 'Sala');
    const ines = await user('Ines', 'Riva');
    const { room } = await openDm(teo, ines);
    const [teoSocket, inesSocket] = [await sockets.connect(teo.token), await sockets.connect(ines.token)];
    const told: boolean[] = [];
    inesSocket.on('chat.typing', (v) => told.push(v.typing));

    const typing = nextEvent(inesSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    const ack = await request(teoSocket, { type: 'chat.typing', roomId: room.roomId, typing: true });
    assert.deepEqual(ackData(ack), { sent: true });
    const seen = await typing;
    assert.equal(seen.roomId, room.roomId);
    assert.equal(seen.typing, true);
    assert.equal(seen.user.userId, teo.id);
    assert.equal(seen.user.displayName, 'Sala Teo');
    const stopped = nextEvent(inesSocket, 'chat.typing', EVENT_TIMEOUT_MS);
    await request(teoSocket, { type: 'chat.typing', roomId: room.roomId, typing: false });
    assert.equal((await stopped).typing, false);
    // Synapse pushes both changes back (ephemeral events): they were told already, and are not told again.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(told, [true, false]);

    // Validation, rooms the caller is not in, and guests.
    assert.equal(
      ackErrorCode(await request(teoSocket, { type: 'chat.typing', roomId: 'nope', typing: true })),
      'VALIDATION_FAILED',
    );
    const outsider = await sockets.connect((await user('Oto', 'Fuori')).token);
    assert.equal(
      ackErrorCode(await request(outsider, { type: 'chat.typing', roomId: room.roomId, typing: true })),
      'NOT_FOUND',
    );
    const organizer = await fx.createUser({ firstName: 'Olga', lastName: 'Pro', plan: 'pro' });
    const meeting = await scheduleNow(organizer);
    const guest = await guestSocketFor(meeting, 'Gina');
    assert.equal(
      ackErrorCode(await request(guest, { type: 'chat.typing', roomId: room.roomId, typing: true })),
      'FORBIDDEN',
    );
  });

  it('keeps a meeting’s in-call chat in Matrix: organizer and guest write both ways, and it persists', async () => {
    const { matrix } = testStack();
    const organizer = await fx.createUser({ firstName: 'Marta', lastName: 'Pro', plan: 'pro' });
    const meeting = await scheduleNow(organizer);
    let orgSocket = await sockets.connect(organizer.token);
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
    const outsider = await sockets.connect((await user('Ugo', 'Esterno')).token);
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
    orgSocket = await sockets.connect(organizer.token);
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

  it('still ignores a replayed transaction after a restart (a new server on the same database)', async () => {
    const { matrix } = testStack();
    const lea = await user('Lea', 'Pace');
    const max = await user('Max', 'Ferro');
    const { room } = await openDm(lea, max);
    const txnId = `restart-${randomUUID()}`;
    const transaction = (body: string): string =>
      JSON.stringify({
        events: [
          {
            type: 'm.room.message',
            room_id: room.roomId,
            sender: mxidOf(lea),
            event_id: `$synthetic-${randomUUID()}`,
            origin_server_ts: Date.now(),
            content: { msgtype: 'm.text', body },
          },
        ],
      });
    const put = (baseUrl: string, txn: string, body: string): Promise<Response> =>
      fetch(`${baseUrl}/_matrix/app/v1/transactions/${txn}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${matrix.hsToken}`, 'Content-Type': 'application/json' },
        body,
      });
    const original = transaction('prima del riavvio');
    assert.equal((await put(fx.baseUrl, txnId, original)).status, 200);

    const restarted = await startServer({ reuseDb: fx.db });
    try {
      const restartedSockets = new SocketPool(restarted.baseUrl);
      try {
        const maxSocket = await restartedSockets.connect(max.token);
        const seen = collect(maxSocket);
        const replay = await put(restarted.baseUrl, txnId, original);
        assert.equal(replay.status, 200);
        // The same txnId with new events (what Synapse on SQLite sends after its own restart) is a new
        // transaction, and is delivered: the socket would have seen the replay too.
        const fresh = nextMessage(maxSocket, 'dopo il riavvio');
        assert.equal((await put(restarted.baseUrl, txnId, transaction('dopo il riavvio'))).status, 200);
        await fresh;
        assert.deepEqual(
          seen.map((m) => m.body),
          ['dopo il riavvio'],
        );
      } finally {
        restartedSockets.closeAll();
      }
    } finally {
      await restarted.close();
    }
  });

  it('validates input and hides rooms the caller is not in', async () => {
    const a = await user('Aldo', 'Moretti');
    const bad = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: 'nope' } });
    assert.equal(bad.status, 400);
    const self = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: a.id } });
    assert.equal(self.status, 400);
    const other = await fx.api('GET', `/api/chat/rooms/${encodeURIComponent('!nope:ucc.localhost')}`, {
      token: a.token,
    });
    assert.equal(other.status, 404);
    const anonymous = await fx.api('GET', '/api/chat/rooms');
    assert.equal(anonymous.status, 401);
  });
});

describe('chat with an unreachable homeserver URL', () => {
  let fx: ServerFixture;

  beforeEach(async () => {
    fx = await startServer({ matrix: { ...testStack().matrix, homeserverUrl: 'http://127.0.0.1:1' } });
  });

  afterEach(async () => {
    await fx.close();
  });

  it('answers 503 CHAT_UNAVAILABLE instead of pretending', async () => {
    const a = await fx.createUser({ firstName: 'Nadia', lastName: 'Ferri' });
    const b = await fx.createUser({ firstName: 'Oscar', lastName: 'Gatti' });
    const res = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: b.id } });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal((res.body as ErrorBody).error.code, 'CHAT_UNAVAILABLE');
    const list = await fx.api('GET', '/api/chat/rooms', { token: a.token });
    assert.equal(list.status, 503);
  });
});

describe('chat while Synapse is stopped and restarted (a Synapse of its own)', function () {
  // The suite's Synapse is shared, so this test runs a second one on its own data directory, stops it mid-test
  // and starts it again on the same directory and port; the same server keeps running throughout.
  this.timeout(240_000);
  let dataDir: string | undefined;
  let synapse: SynapseService | undefined;
  let fx: ServerFixture | undefined;
  let sockets: SocketPool | undefined;

  async function startSynapse(dir: string, bridgeUrl: string, port?: number): Promise<SynapseService> {
    const stack = testStack();
    if (!stack.config.stack) throw new Error('the embedded stack is not installed');
    return SynapseService.create({
      python: stack.config.stack.synapsePython,
      dataDir: dir,
      serverName: stack.matrix.serverName,
      bridgeUrl,
      logger: stack.logger,
      startTimeoutMs: 120_000,
      ...(port === undefined ? {} : { port }),
    });
  }

  afterEach(async () => {
    sockets?.closeAll();
    await fx?.close();
    await synapse?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    [sockets, fx, synapse, dataDir] = [undefined, undefined, undefined, undefined];
  });

  it('answers 503 CHAT_UNAVAILABLE while it is down, fakes nothing, and sends again after the restart', async () => {
    const stack = testStack();
    dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-synapse-restart-'));
    const bridgePort = await freePort();
    const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
    synapse = await startSynapse(dataDir, bridgeUrl);
    const synapsePort = Number(new URL(synapse.url).port);
    const endpoint = {
      homeserverUrl: synapse.url,
      serverName: synapse.serverName,
      asToken: synapse.secrets.asToken,
      hsToken: synapse.secrets.hsToken,
      registrationSharedSecret: synapse.secrets.registrationSharedSecret,
    };
    fx = await startServer({
      matrix: endpoint,
      config: { http: { ...stack.config.http, port: bridgePort } },
    });
    sockets = new SocketPool(fx.baseUrl);
    const a = await fx.createUser({ firstName: 'Rosa', lastName: 'Villa' });
    const b = await fx.createUser({ firstName: 'Sergio', lastName: 'Monti' });
    const bSocket = await sockets.connect(b.token);
    const dm = await fx.api('POST', '/api/chat/dms', { token: a.token, body: { userId: b.id } });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));
    const roomId = (dm.body as ChatRoomView).roomId;
    const messages = `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`;
    const seen = collect(bSocket);

    const before = nextMessage(bSocket, 'prima');
    const ok = await fx.api('POST', messages, { token: a.token, body: { body: 'prima' } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    await before;

    await synapse.stop();
    const down = await fx.api('POST', messages, {
      token: a.token,
      body: { body: 'durante', clientTxnId: 'retry-0001' },
    });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal((down.body as ErrorBody).error.code, 'CHAT_UNAVAILABLE');
    const history = await fx.api('GET', messages, { token: b.token });
    assert.equal(history.status, 503);
    const typing = await request(bSocket, { type: 'chat.typing', roomId, typing: true });
    assert.equal(ackErrorCode(typing), 'CHAT_UNAVAILABLE');
    const readiness = await fx.api('GET', '/readyz');
    assert.equal(readiness.status, 503);

    // The same data directory and port: the running server's bridge follows without a restart of its own.
    synapse = await startSynapse(dataDir, bridgeUrl, synapsePort);
    // The client retries the refused message with its clientTxnId; a second retry is not sent twice.
    const retried = nextMessage(bSocket, 'durante');
    const again = await fx.api('POST', messages, {
      token: a.token,
      body: { body: 'durante', clientTxnId: 'retry-0001' },
    });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    await retried;
    const twice = await fx.api('POST', messages, {
      token: a.token,
      body: { body: 'durante', clientTxnId: 'retry-0001' },
    });
    assert.equal((twice.body as { eventId: string }).eventId, (again.body as { eventId: string }).eventId);
    const after = nextMessage(bSocket, 'dopo');
    assert.equal((await fx.api('POST', messages, { token: a.token, body: { body: 'dopo' } })).status, 201);
    await after;

    // Matrix has every accepted message once, and nothing that was refused appeared on its own.
    const page = await fx.api('GET', `${messages}?limit=10`, { token: b.token });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.deepEqual(
      (page.body as { items: ChatMessageView[] }).items.map((m) => m.body),
      ['dopo', 'durante', 'prima'],
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      seen.map((m) => m.body),
      ['prima', 'durante', 'dopo'],
    );
  });
});
