import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import type { ErrorBody } from '../../shared/errors.js';
import type { Ack } from '../../shared/protocol.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { clientRequestSchema } from '../../shared/schemas/requests.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import {
  ackProblem,
  baseRequest,
  code,
  DTLS,
  mutations,
  ok,
  OPUS,
  vp8,
  type LiveIds,
} from '../harness/socketAbuse.js';
import { request, SocketPool, type ClientSocket } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

/** Every request type the protocol has, read from the schema itself: a new one cannot be left out. */
const REQUEST_TYPES: string[] = clientRequestSchema.options.map(
  (o) => (o.shape.type as z.ZodLiteral<string>).value,
);

/** Requests that would end the session the suite runs in when they happen to be valid. */
const DESTRUCTIVE = new Set([
  'meeting.leave',
  'meeting.end',
  'meeting.removeParticipant',
  'meeting.join',
  'media.closeTransport',
]);

describe('socket abuse (real services)', function () {
  // ~2,500 requests against real mediasoup and Synapse on a shared 2-core machine.
  this.timeout(300_000);

  let fx: ServerFixture;
  let sockets: SocketPool;
  let organizer: TestUser;
  let meeting: MeetingView;

  async function createMeeting(f: ServerFixture, org: TestUser, startAt = new Date()): Promise<MeetingView> {
    const res = await f.api('POST', '/api/meetings', {
      token: org.token,
      body: { title: 'Abuse', startAt: startAt.toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201);
    return res.body as MeetingView;
  }

  async function guestSocket(
    f: ServerFixture,
    pool: SocketPool,
    m: MeetingView,
  ): Promise<{ socket: ClientSocket; participantId: string }> {
    const guestCode = m.guestUrl.split('/m/')[1] ?? '';
    const res = await f.api('POST', `/api/guest/${guestCode}/join`, { body: { displayName: 'Anna' } });
    const socket = await pool.connect((res.body as { guestToken: string }).guestToken);
    const joined = ok(await request(socket, { type: 'meeting.join', meetingId: m.id }));
    assert.equal(joined.state, 'joined');
    return { socket, participantId: joined.state === 'joined' ? joined.participantId : '' };
  }

  beforeEach(async () => {
    // The throttle is out of the way here (it has its own test below): this is about what each request does.
    const signaling = {
      ...testStack().config.signaling,
      requestsPerSecond: 10_000,
      requestBurst: 100_000,
      disconnectAfterRefused: 1_000_000,
    };
    fx = await startServer({ config: { signaling } });
    sockets = new SocketPool(fx.baseUrl);
    organizer = await fx.createUser({ plan: 'pro' });
    meeting = await createMeeting(fx, organizer);
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
  });

  async function joinOrganizer(): Promise<ClientSocket> {
    const socket = await sockets.connect(organizer.token);
    ok(await request(socket, { type: 'meeting.join', meetingId: meeting.id }));
    return socket;
  }

  it('answers 2,000+ malformed requests over every request type with documented 4xx errors, never INTERNAL, and stays healthy', async () => {
    const org = await joinOrganizer();
    const caps = ok(await request(org, { type: 'media.getRouterRtpCapabilities' })).rtpCapabilities;
    const send = ok(await request(org, { type: 'media.createTransport', direction: 'send' }));
    const orgRecv = ok(await request(org, { type: 'media.createTransport', direction: 'recv' }));
    const mic = ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    ).producerId;
    const anna = await guestSocket(fx, sockets, meeting);
    ok(await request(anna.socket, { type: 'media.createTransport', direction: 'recv' }));
    const { consumers } = ok(await request(anna.socket, { type: 'media.ready', rtpCapabilities: caps }));
    const outsider = await sockets.connect((await fx.createUser()).token);
    const ids: LiveIds = {
      meetingId: meeting.id,
      transportId: send.id,
      recvTransportId: orgRecv.id,
      producerId: mic,
      consumerId: consumers[0]?.id ?? '',
      participantId: anna.participantId,
    };
    // In the meeting as organizer and as guest, and outside it: the same request meets different states.
    const senders = [org, anna.socket, outsider];

    const PER_TYPE = 100;
    const cases = REQUEST_TYPES.flatMap((type) =>
      fc
        .sample(fc.tuple(mutations, fc.nat({ max: senders.length - 1 })), {
          numRuns: PER_TYPE,
          seed: 4242 + type.length,
        })
        .map(([mutate, sender]) => ({ type, payload: mutate(baseRequest(type, ids)), sender })),
    );
    assert.ok(cases.length >= 2_000, `${cases.length} cases`);

    const failures: string[] = [];
    const codes = new Map<string, number>();
    const sentByType = new Map<string, number>();
    let sent = 0;
    const queue = [...cases];
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        // A valid request of these kinds would end the suite's own session; only malformed ones are sent.
        if (DESTRUCTIVE.has(c.type) && clientRequestSchema.safeParse(c.payload).success) continue;
        const socket = senders[c.sender];
        if (!socket) continue;
        if (!socket.connected) {
          failures.push(
            `${c.type}: the socket was dropped before ${JSON.stringify(c.payload)?.slice(0, 200)}`,
          );
          return;
        }
        sent++;
        sentByType.set(c.type, (sentByType.get(c.type) ?? 0) + 1);
        let ack: unknown;
        try {
          ack = await socket.timeout(10_000).emitWithAck('request', c.payload);
        } catch (err) {
          failures.push(`${c.type}: no ack (${String(err)}) for ${JSON.stringify(c.payload)?.slice(0, 200)}`);
          continue;
        }
        const problem = ackProblem(ack);
        if (problem) failures.push(`${c.type}: ${problem} for ${JSON.stringify(c.payload)?.slice(0, 200)}`);
        const errorCode = (ack as Ack<unknown>).ok
          ? 'ok'
          : ((ack as { error: ErrorBody }).error.code as string);
        codes.set(errorCode, (codes.get(errorCode) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual(failures, []);
    assert.ok(sent >= 2_000, `only ${sent} requests sent`);
    for (const type of REQUEST_TYPES) assert.ok((sentByType.get(type) ?? 0) >= 30, `${type}: too few sent`);
    assert.ok((codes.get('VALIDATION_FAILED') ?? 0) > sent / 2, JSON.stringify([...codes]));
    for (const s of senders) assert.ok(s.connected, 'a socket was dropped');

    // Healthy afterwards: a fresh socket joins and runs the media flow.
    const fresh = await guestSocket(fx, sockets, meeting);
    ok(await request(fresh.socket, { type: 'hello', client: 'after' }));
    ok(await request(fresh.socket, { type: 'media.getRouterRtpCapabilities' }));
    const freshSend = ok(await request(fresh.socket, { type: 'media.createTransport', direction: 'send' }));
    ok(
      await request(fresh.socket, {
        type: 'media.connectTransport',
        transportId: freshSend.id,
        dtlsParameters: DTLS,
      }),
    );
    ok(
      await request(fresh.socket, {
        type: 'media.produce',
        transportId: freshSend.id,
        kind: 'audio',
        rtpParameters: { ...OPUS, encodings: [{ ssrc: 99_999 }] },
        source: 'mic',
      }),
    );
    ok(await request(fresh.socket, { type: 'media.createTransport', direction: 'recv' }));
    ok(await request(fresh.socket, { type: 'media.ready', rtpCapabilities: caps }));
  });

  it('refuses media requests out of state: before joining, connect twice, a duplicate SSRC, produce on a receive transport', async () => {
    const outsider = await sockets.connect((await fx.createUser()).token);
    for (const payload of [
      { type: 'media.createTransport', direction: 'send' },
      { type: 'media.ready', rtpCapabilities: {} },
      { type: 'media.resumeConsumer', consumerId: '00000000-0000-4000-8000-000000000000' },
    ] as const) {
      assert.equal(code(await request(outsider, payload)), 'FORBIDDEN');
    }

    const org = await joinOrganizer();
    const send = ok(await request(org, { type: 'media.createTransport', direction: 'send' }));
    ok(await request(org, { type: 'media.connectTransport', transportId: send.id, dtlsParameters: DTLS }));
    assert.equal(
      code(
        await request(org, { type: 'media.connectTransport', transportId: send.id, dtlsParameters: DTLS }),
      ),
      'CONFLICT',
    );
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    );
    // The camera's SSRC is the mic's: mediasoup's RTP listener refuses it, and that is the client's mistake.
    assert.equal(
      code(
        await request(org, {
          type: 'media.produce',
          transportId: send.id,
          kind: 'video',
          rtpParameters: vp8(OPUS.encodings[0]?.ssrc ?? 0),
          source: 'camera',
        }),
      ),
      'CONFLICT',
    );
    // The refused camera left no reservation behind: with its own SSRC it goes through.
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'video',
        rtpParameters: vp8(5_555),
        source: 'camera',
      }),
    );

    const recv = ok(await request(org, { type: 'media.createTransport', direction: 'recv' }));
    assert.equal(
      code(
        await request(org, {
          type: 'media.produce',
          transportId: recv.id,
          kind: 'video',
          rtpParameters: vp8(6_666),
          source: 'screen',
        }),
      ),
      'CONFLICT',
    );
    assert.equal(
      code(
        await request(org, {
          type: 'media.produce',
          transportId: send.id,
          kind: 'video',
          rtpParameters: vp8(7_777),
          source: 'mic',
        }),
      ),
      'VALIDATION_FAILED',
    );
  });

  it('holds one producer per source: a second camera is LIMIT_EXCEEDED until the first is closed', async () => {
    const org = await joinOrganizer();
    const send = ok(await request(org, { type: 'media.createTransport', direction: 'send' }));
    // Sent together: the check holds even when none of them has finished yet.
    const acks = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        request(org, {
          type: 'media.produce',
          transportId: send.id,
          kind: 'video',
          rtpParameters: vp8(1_000 + i),
          source: 'camera',
        }),
      ),
    );
    const made = acks.filter((a) => a.ok);
    assert.equal(made.length, 1, JSON.stringify(acks));
    assert.deepEqual(
      acks.filter((a) => !a.ok).map((a) => code(a)),
      ['LIMIT_EXCEEDED', 'LIMIT_EXCEEDED', 'LIMIT_EXCEEDED'],
    );
    const first = made[0]?.ok ? made[0].data.producerId : '';
    ok(await request(org, { type: 'media.closeProducer', producerId: first }));
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'video',
        rtpParameters: vp8(2_000),
        source: 'camera',
      }),
    );
    // Other sources are their own: a screen share next to the camera is fine.
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'video',
        rtpParameters: vp8(3_000),
        source: 'screen',
      }),
    );
  });

  it('caps transports per participant, even when asked for all at once', async () => {
    const org = await joinOrganizer();
    const max = testStack().config.mediasoup.maxTransportsPerParticipant;
    const acks = await Promise.all(
      Array.from({ length: max + 6 }, (_, i) =>
        request(org, { type: 'media.createTransport', direction: i % 2 === 0 ? 'send' : 'recv' }),
      ),
    );
    assert.equal(acks.filter((a) => a.ok).length, max);
    const refused = acks.filter((a) => !a.ok);
    assert.equal(refused.length, 6);
    for (const a of refused) assert.equal(code(a), 'LIMIT_EXCEEDED');
    // Another participant has caps of their own.
    const anna = await guestSocket(fx, sockets, meeting);
    ok(await request(anna.socket, { type: 'media.createTransport', direction: 'send' }));
  });

  it('frees the place of a closed transport under the cap, and the sources of its producers', async () => {
    const org = await joinOrganizer();
    const max = testStack().config.mediasoup.maxTransportsPerParticipant;
    const made = [];
    for (let i = 0; i < max; i++)
      made.push(ok(await request(org, { type: 'media.createTransport', direction: 'send' })));
    const [first] = made;
    assert.ok(first);
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: first.id,
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    );
    assert.equal(
      code(await request(org, { type: 'media.createTransport', direction: 'recv' })),
      'LIMIT_EXCEEDED',
    );
    ok(await request(org, { type: 'media.closeTransport', transportId: first.id }));
    assert.equal(
      code(await request(org, { type: 'media.closeTransport', transportId: first.id })),
      'NOT_FOUND',
    );
    ok(await request(org, { type: 'media.createTransport', direction: 'recv' }));
    // Its mic went with it: a rebuilt send transport may produce one again.
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: made[1]?.id ?? '',
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    );
  });

  it('never creates duplicate consumers, however often media.ready is sent on one socket', async () => {
    const org = await joinOrganizer();
    const caps = ok(await request(org, { type: 'media.getRouterRtpCapabilities' })).rtpCapabilities;
    const send = ok(await request(org, { type: 'media.createTransport', direction: 'send' }));
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    );
    ok(
      await request(org, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'video',
        rtpParameters: vp8(4_444),
        source: 'camera',
      }),
    );

    const anna = await guestSocket(fx, sockets, meeting);
    // Ready before there is a receive transport: nothing can be consumed yet.
    assert.deepEqual(
      ok(await request(anna.socket, { type: 'media.ready', rtpCapabilities: caps })).consumers,
      [],
    );
    ok(await request(anna.socket, { type: 'media.createTransport', direction: 'recv' }));
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => request(anna.socket, { type: 'media.ready', rtpCapabilities: caps })),
    );
    const all = answers.flatMap((a) => ok(a).consumers);
    assert.equal(all.length, 2, 'one consumer per producer across every answer');
    assert.equal(new Set(all.map((c) => c.producerId)).size, 2);
    // The consumers made are the ones that stay: a later ready does not replace them.
    assert.deepEqual(
      ok(await request(anna.socket, { type: 'media.ready', rtpCapabilities: caps })).consumers,
      [],
    );
    for (const c of all) ok(await request(anna.socket, { type: 'media.resumeConsumer', consumerId: c.id }));
  });
});
