import assert from 'node:assert/strict';
import type { ChatRoomView } from '../../shared/schemas/chat.js';
import { MAX_MESSAGE_LENGTH } from '../../shared/schemas/chat.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { chatServer, PNG_1X1, type ErrorBody } from '../harness/chatServer.js';
import type { TestUser } from '../harness/serverFixture.js';
import { ackData, nextChatMessage, request, ackErrorCode } from '../harness/sockets.js';

const RATE_LIMIT = 3;

describe('chat under abuse: message bounds, rate limits, files of other rooms, Matrix refusals', function () {
  this.timeout(60_000);
  const chat = chatServer({
    chat: { rateLimit: { messages: RATE_LIMIT, windowMs: 3_600_000 } },
  });
  const openDm = async (a: TestUser, b: TestUser): Promise<ChatRoomView> => (await chat.openDm(a, b)).room;

  const messages = (roomId: string): string => `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`;

  it('refuses a message over the length limit with VALIDATION_FAILED, and one sender over the rate limit with 429', async () => {
    const a = await chat.fx.createUser({ firstName: 'Rita', lastName: 'Lunga' });
    const b = await chat.fx.createUser({ firstName: 'Sergio', lastName: 'Breve' });
    const room = await openDm(a, b);

    const tooLong = await chat.fx.api('POST', messages(room.roomId), {
      token: a.token,
      body: { body: 'x'.repeat(MAX_MESSAGE_LENGTH + 1) },
    });
    assert.equal(tooLong.status, 400);
    const body = tooLong.body as ErrorBody;
    assert.equal(body.error.code, 'VALIDATION_FAILED');
    assert.deepEqual(body.error.details, [
      { path: 'body', message: `must be at most ${MAX_MESSAGE_LENGTH} characters` },
    ]);

    // Refused input does not count; the limit's messages do, and the next one is refused with Retry-After.
    const sent: string[] = [];
    for (let i = 0; i < RATE_LIMIT; i++) {
      const res = await chat.fx.api('POST', messages(room.roomId), {
        token: a.token,
        body: { body: `n. ${i}` },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      sent.push((res.body as { eventId: string }).eventId);
    }
    const over = await chat.fx.api('POST', messages(room.roomId), {
      token: a.token,
      body: { body: 'troppi' },
    });
    assert.equal(over.status, 429);
    assert.equal((over.body as ErrorBody).error.code, 'RATE_LIMITED');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    const edit = await chat.fx.api('PUT', `${messages(room.roomId)}/${encodeURIComponent(sent[0] ?? '')}`, {
      token: a.token,
      body: { body: 'corretto' },
    });
    assert.equal(edit.status, 429);
    const file = await fetch(
      `${chat.fx.baseUrl}/api/chat/rooms/${encodeURIComponent(room.roomId)}/files?name=a.png`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'image/png' },
        body: PNG_1X1,
      },
    );
    assert.equal(file.status, 429);

    // The limit is per sender: the other member still writes.
    const other = await chat.fx.api('POST', messages(room.roomId), {
      token: b.token,
      body: { body: 'io sì' },
    });
    assert.equal(other.status, 201, JSON.stringify(other.body));
  });

  it('bounds the meeting chat the same way, counting a colleague’s messages in every chat together', async () => {
    const organizer = await chat.fx.createUser({ firstName: 'Tina', lastName: 'Pro', plan: 'pro' });
    const colleague = await chat.fx.createUser({ firstName: 'Ugo', lastName: 'Collega' });
    const res = await chat.fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: { title: 'Limiti', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const meeting = res.body as MeetingView;
    const orgSocket = await chat.sockets.connect(organizer.token);
    ackData(await request(orgSocket, { type: 'meeting.join', meetingId: meeting.id }));
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    const joined = await chat.fx.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Vera' } });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const guest = await chat.sockets.connect((joined.body as { guestToken: string }).guestToken);
    ackData(await request(guest, { type: 'meeting.join', meetingId: meeting.id }));

    const long = await request(orgSocket, {
      type: 'meeting.chat.send',
      body: 'y'.repeat(MAX_MESSAGE_LENGTH + 1),
    });
    assert.equal(ackErrorCode(long), 'VALIDATION_FAILED');

    // One message in a DM first: the organizer's count is shared by REST and the meeting chat.
    const room = await openDm(organizer, colleague);
    const dm = await chat.fx.api('POST', messages(room.roomId), {
      token: organizer.token,
      body: { body: 'prima' },
    });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));
    for (let i = 1; i < RATE_LIMIT; i++) {
      ackData(await request(orgSocket, { type: 'meeting.chat.send', body: `riunione ${i}` }));
    }
    assert.equal(
      ackErrorCode(await request(orgSocket, { type: 'meeting.chat.send', body: 'troppi' })),
      'RATE_LIMITED',
    );
    // A guest has a count of their own.
    for (let i = 0; i < RATE_LIMIT; i++)
      ackData(await request(guest, { type: 'meeting.chat.send', body: `ospite ${i}` }));
    assert.equal(
      ackErrorCode(await request(guest, { type: 'meeting.chat.send', body: 'troppi' })),
      'RATE_LIMITED',
    );
  });

  it('sends a pathological 20,000-character message whole, as plain text', async () => {
    const a = await chat.fx.createUser({ firstName: 'Walter', lastName: 'Quadre' });
    const b = await chat.fx.createUser({ firstName: 'Zoe', lastName: 'Tonde' });
    const room = await openDm(a, b);
    const bSocket = await chat.sockets.connect(b.token);
    const text = '[a]('.repeat(MAX_MESSAGE_LENGTH / 4);
    const received = nextChatMessage(bSocket, text);
    const res = await chat.fx.api('POST', messages(room.roomId), { token: a.token, body: { body: text } });
    assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 200));
    const message = await received;
    assert.equal(message.formattedBody, undefined);
  });

  it('serves a room’s files only through that room: a media id of a DM one is not in is 404 through one’s own room', async () => {
    const nina = await chat.fx.createUser({ firstName: 'Nina', lastName: 'Privata' });
    const otto = await chat.fx.createUser({ firstName: 'Otto', lastName: 'Privato' });
    const pia = await chat.fx.createUser({ firstName: 'Pia', lastName: 'Curiosa' });
    const dmB = await openDm(nina, otto);
    const ottoSocket = await chat.sockets.connect(otto.token);
    const pushed = nextChatMessage(ottoSocket, 'segreto.png');
    const upload = await fetch(
      `${chat.fx.baseUrl}/api/chat/rooms/${encodeURIComponent(dmB.roomId)}/files?name=segreto.png`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${nina.token}`, 'Content-Type': 'image/png' },
        body: PNG_1X1,
      },
    );
    assert.equal(upload.status, 201, await upload.clone().text());
    const mxc = ((await upload.json()) as { url: string }).url;
    const [serverName, mediaId] = mxc.replace(/^mxc:\/\//, '').split('/') as [string, string];
    const fileIn = (roomId: string): string =>
      `/api/chat/rooms/${encodeURIComponent(roomId)}/files/${encodeURIComponent(serverName)}/${encodeURIComponent(mediaId)}`;
    const get = (path: string, token: string): Promise<Response> =>
      fetch(`${chat.fx.baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });

    // The DM's members get it through the DM.
    const own = await get(fileIn(dmB.roomId), otto.token);
    assert.equal(own.status, 200);
    assert.deepEqual(Buffer.from(await own.arrayBuffer()), PNG_1X1);

    // Pia is in a room A of her own (with Otto), and puts the DM's media id under it.
    const roomA = await openDm(pia, otto);
    const stolen = await get(fileIn(roomA.roomId), pia.token);
    assert.equal(stolen.status, 404);
    assert.equal(((await stolen.json()) as ErrorBody).error.code, 'NOT_FOUND');
    // Otto is in both rooms: the file is still only the DM's.
    assert.equal((await get(fileIn(roomA.roomId), otto.token)).status, 404);

    // A file posted before the server recorded rooms' files (its record gone, and Synapse's push of it long
    // handled) is found once in the room's history, and only in its own room.
    await pushed;
    await chat.fx.db.connection
      .collection('chatmedias')
      .deleteMany({ roomId: { $in: [dmB.roomId, roomA.roomId] } });
    const old = await get(fileIn(dmB.roomId), nina.token);
    assert.equal(old.status, 200);
    assert.deepEqual(Buffer.from(await old.arrayBuffer()), PNG_1X1);
    assert.equal((await get(fileIn(roomA.roomId), pia.token)).status, 404);
    const unknown = `/api/chat/rooms/${encodeURIComponent(dmB.roomId)}/files/${encodeURIComponent(serverName)}/NoSuchMedia123`;
    assert.equal((await get(unknown, nina.token)).status, 404);
  });

  it('answers a Matrix refusal of what the caller sent with a 4xx, not a 500', async () => {
    const a = await chat.fx.createUser({ firstName: 'Aldo', lastName: 'Token' });
    const b = await chat.fx.createUser({ firstName: 'Bice', lastName: 'Token' });
    const room = await openDm(a, b);
    // Synapse refuses a pagination token it never issued (M_INVALID_PARAM, 400).
    const res = await chat.fx.api('GET', `${messages(room.roomId)}?from=not-a-token`, { token: a.token });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const body = res.body as ErrorBody;
    assert.equal(body.error.code, 'VALIDATION_FAILED');
    assert.match(body.error.details?.[0]?.message ?? '', /^M_[A-Z_]+: /);
  });
});
