import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import { ManualClock } from '../../server/clock.js';
import { ERROR_CODES, type ErrorBody } from '../../shared/errors.js';
import type { Ack } from '../../shared/protocol.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { clientRequestSchema } from '../../shared/schemas/requests.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { request, SocketPool, type ClientSocket } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

const OPUS = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2 }],
  encodings: [{ ssrc: 11_111 }],
};
function vp8(ssrc: number): object {
  return { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000 }], encodings: [{ ssrc }] };
}
/** A well-formed DTLS fingerprint (sha-256, 32 bytes in hex pairs). */
const DTLS = {
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
};

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

const KNOWN_CODES = new Set<string>(ERROR_CODES);
const BODY_KEYS = new Set(['code', 'message', 'details', 'retryAfterMs']);

function ok<T>(ack: Ack<T>): T {
  assert.ok(ack.ok, `request failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

function code(ack: Ack<unknown>): string {
  assert.equal(ack.ok, false, `expected an error: ${JSON.stringify(ack)}`);
  return ack.ok ? '' : ack.error.code;
}

/** What is wrong with an ack, if anything: the documented shape, a known code, never INTERNAL. */
function ackProblem(ack: unknown): string | undefined {
  if (typeof ack !== 'object' || ack === null) return `not an object: ${String(ack)}`;
  const a = ack as { ok?: unknown; error?: unknown };
  if (a.ok === true) return undefined;
  if (a.ok !== false) return `no ok flag: ${JSON.stringify(ack)}`;
  const error = a.error as Partial<ErrorBody> | undefined;
  if (typeof error !== 'object') return 'no error body';
  if (typeof error.code !== 'string' || !KNOWN_CODES.has(error.code))
    return `unknown code ${String(error.code)}`;
  if (error.code === 'INTERNAL') return 'INTERNAL';
  if (typeof error.message !== 'string' || error.message === '') return 'no message';
  const extra = Object.keys(error).filter((k) => !BODY_KEYS.has(k));
  if (extra.length > 0) return `extra keys ${extra.join(',')}`;
  if (error.details !== undefined) {
    const bad =
      !Array.isArray(error.details) ||
      error.details.some((d) => typeof d.path !== 'string' || typeof d.message !== 'string');
    if (bad) return 'malformed details';
  }
  return undefined;
}

/** Any generated value as a string (String() throws on objects without a prototype). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

function disconnected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve) => socket.once('disconnect', () => resolve()));
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { n: value } : [value];
  return value;
}

/** Ids that exist in the suite's meeting, so that malformed requests also reach the deeper layers. */
interface LiveIds {
  meetingId: string;
  transportId: string;
  recvTransportId: string;
  producerId: string;
  consumerId: string;
  participantId: string;
}

/** A request of each type as a client would send it, with live ids: the starting point for mutations. */
function baseRequest(type: string, ids: LiveIds): Record<string, unknown> {
  switch (type) {
    case 'hello':
      return { type, client: 'abuse' };
    case 'meeting.join':
      return { type, meetingId: '0123456789abcdef01234567' };
    case 'meeting.removeParticipant':
    case 'media.muteParticipant':
    case 'media.unlockParticipant':
    case 'media.stopCamera':
      return { type, participantId: ids.participantId };
    case 'meeting.raiseHand':
      return { type, raised: true };
    case 'media.createTransport':
      return { type, direction: 'recv' };
    case 'media.connectTransport':
      return { type, transportId: ids.transportId, dtlsParameters: DTLS };
    case 'media.restartIce':
    case 'media.closeTransport':
      return { type, transportId: ids.recvTransportId };
    case 'media.produce':
      return { type, transportId: ids.transportId, kind: 'audio', rtpParameters: OPUS, source: 'mic' };
    case 'media.ready':
      return {
        type,
        rtpCapabilities: { codecs: [{ mimeType: 'audio/opus', kind: 'audio', clockRate: 48_000 }] },
      };
    case 'media.resumeConsumer':
      return { type, consumerId: ids.consumerId };
    case 'media.setPreferredLayers':
      return { type, consumerId: ids.consumerId, spatialLayer: 1 };
    case 'media.pauseProducer':
    case 'media.resumeProducer':
    case 'media.closeProducer':
      return { type, producerId: ids.producerId };
    case 'chat.typing':
      return { type, roomId: '!abuse:ucc.localhost', typing: true };
    case 'meeting.chat.send':
      return { type, body: 'ciao' };
    case 'meeting.chat.history':
      return { type, limit: 5 };
    default:
      return { type };
  }
}

/** Values no field expects; small ones, so that several fit in one message under the socket's size limit. */
const smallJunk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, maxKeys: 5, withNullPrototype: true, withBigInt: false }),
  fc.constantFrom(null, -1, 1e308, Number.NaN, '', ' ', '\u0000', true, [], {}),
  fc.integer({ min: 1, max: 60 }).map(nested),
  fc.string({ maxLength: 40 }),
  fc.uuid(),
  fc.constantFrom('00000000-0000-4000-8000-000000000000', 'not-an-id', '0123456789abcdef01234567'),
);
/** With a huge string too (100,000 characters: one per message stays under the size limit). */
const junk: fc.Arbitrary<unknown> = fc.oneof(smallJunk, fc.constant('x'.repeat(100_000)));

const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype');

/** Any value inside mediasoup's loose objects, where zod lets it through; now and then a deep one. */
const looseValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.anything({ maxDepth: 2, maxKeys: 3, withNullPrototype: true, withBigInt: false }),
    weight: 6,
  },
  { arbitrary: fc.integer({ min: 11, max: 40 }).map(nested), weight: 1 },
);
const someInt = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER));
/** Mostly what a browser sends, sometimes anything: realistic values get further into mediasoup. */
function mostly<T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: usual, weight: 3 }, { arbitrary: odd, weight: 1 });
}
const mimeType = mostly(
  fc.constantFrom('audio/opus', 'video/VP8'),
  fc.constantFrom('video/H264', 'audio/nope', 'video/rtx', 'x', ''),
);

/** RTP parameters that pass the schema (which checks only their outline) and are odd in every other way. */
const schemaValidRtpParameters = fc.record(
  {
    mid: fc.string({ maxLength: 32 }),
    codecs: fc.array(
      fc.record(
        {
          mimeType,
          payloadType: someInt,
          clockRate: someInt,
          channels: looseValue,
          parameters: looseValue,
          rtcpFeedback: looseValue,
        },
        { requiredKeys: ['mimeType', 'payloadType', 'clockRate'] },
      ),
      { minLength: 1, maxLength: 4 },
    ),
    encodings: fc.array(
      fc.record(
        {
          ssrc: fc.oneof(someInt, fc.constant(11_111)),
          rid: looseValue,
          rtx: looseValue,
          scalabilityMode: looseValue,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 4 },
    ),
    headerExtensions: fc.array(
      fc.record({ uri: looseValue, id: looseValue, encrypt: looseValue }, { requiredKeys: [] }),
      { maxLength: 4 },
    ),
    rtcp: fc.record({ cname: looseValue, reducedSize: looseValue }, { requiredKeys: [] }),
  },
  { requiredKeys: ['codecs'] },
);
const schemaValidDtls = fc.record(
  {
    role: fc.constantFrom('auto', 'client', 'server'),
    fingerprints: fc.array(
      fc.record({
        algorithm: mostly(fc.constant('sha-256'), fc.constantFrom('sha-1', 'sha-512', 'md5', 'nope', '')),
        value: mostly(fc.constant(DTLS.fingerprints[0]?.value ?? ''), fc.string({ maxLength: 256 })),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  },
  { requiredKeys: ['fingerprints'] },
);
const schemaValidCaps = fc.record(
  {
    codecs: fc.array(
      fc.record(
        {
          mimeType,
          kind: fc.constantFrom('audio', 'video'),
          clockRate: looseValue,
          preferredPayloadType: looseValue,
          parameters: looseValue,
          rtcpFeedback: looseValue,
        },
        { requiredKeys: ['mimeType', 'kind'] },
      ),
      { maxLength: 6 },
    ),
    headerExtensions: fc.array(
      fc.record({ uri: looseValue, preferredId: looseValue, kind: looseValue }, { requiredKeys: [] }),
      { maxLength: 4 },
    ),
  },
  { requiredKeys: [] },
);

/** How a request is spoiled: each strategy the suite must survive. */
type Mutation = (base: Record<string, unknown>) => unknown;
const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  // A field of the wrong type (or a huge, deep or id-like value).
  fc.tuple(fc.nat(), junk).map(([i, value]): Mutation => (base) => {
    const keys = Object.keys(base).filter((k) => k !== 'type');
    const key = keys.length > 0 ? keys[i % keys.length] : 'extra';
    return { ...base, [key ?? 'extra']: value };
  }),
  // A field missing.
  fc.nat().map((i): Mutation => (base) => {
    const keys = Object.keys(base).filter((k) => k !== 'type');
    const copy = { ...base };
    const key = keys[i % Math.max(1, keys.length)];
    if (key) delete copy[key];
    return copy;
  }),
  // A field the schema does not know.
  fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), junk).map(([key, value]): Mutation => (base) => ({
    ...base,
    [key === 'type' ? 'type2' : key]: value,
  })),
  // Prototype keys, at the top or inside a nested object, as JSON.parse would produce them.
  fc.tuple(protoKeys, fc.boolean()).map(([key, inside]): Mutation => (base) => {
    const poison = `{"${key}":{"isAdmin":true,"polluted":1}}`;
    return inside
      ? {
          ...base,
          rtpParameters: JSON.parse(poison) as unknown,
          dtlsParameters: JSON.parse(poison) as unknown,
        }
      : { ...(JSON.parse(poison) as object), ...base };
  }),
  // Inside mediasoup's own objects: what only mediasoup itself checks in depth.
  fc.tuple(smallJunk, smallJunk).map(([a, b]): Mutation => (base) => ({
    ...base,
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: a, clockRate: 48_000, parameters: b }],
      encodings: [{ ssrc: a }],
    },
    dtlsParameters: {
      role: 'server',
      fingerprints: [{ algorithm: text(a).slice(0, 30), value: text(b).slice(0, 200) }],
    },
    rtpCapabilities: {
      codecs: [{ mimeType: text(a).slice(0, 60), kind: 'video', preferredPayloadType: b }],
      headerExtensions: [{ uri: a, id: b }],
    },
  })),
  // Shaped as the schema wants, with live ids, but odd inside: this reaches mediasoup itself. Sent more often,
  // since the schema answers the other strategies before anything deeper runs.
  ...Array.from({ length: 4 }, () =>
    fc
      .tuple(
        schemaValidRtpParameters,
        schemaValidDtls,
        schemaValidCaps,
        fc.constantFrom('mic', 'camera', 'screen'),
      )
      .map(([rtpParameters, dtlsParameters, rtpCapabilities, source]): Mutation => (base) => {
        const copy = { ...base };
        if ('rtpParameters' in copy)
          Object.assign(copy, { rtpParameters, source, kind: source === 'mic' ? 'audio' : 'video' });
        if ('dtlsParameters' in copy) copy.dtlsParameters = dtlsParameters;
        if ('rtpCapabilities' in copy) copy.rtpCapabilities = rtpCapabilities;
        return copy;
      }),
  ),
  // The discriminator itself wrong, or no object at all.
  junk.map((value): Mutation => (base) => ({ ...base, type: value })),
  junk.map(
    (value): Mutation =>
      () =>
        value,
  ),
);

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

describe('socket request throttle', () => {
  let fx: ServerFixture;
  let sockets: SocketPool;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    fx = await startServer({
      clock,
      config: {
        signaling: {
          ...testStack().config.signaling,
          requestsPerSecond: 2,
          requestBurst: 5,
          disconnectAfterRefused: 10,
        },
      },
    });
    sockets = new SocketPool(fx.baseUrl);
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
  });

  it('answers RATE_LIMITED with the wait once a connection spends its burst, and serves it again after the wait', async () => {
    const s = await sockets.connect((await fx.createUser()).token);
    for (let i = 0; i < 5; i++) ok(await request(s, { type: 'hello', client: 'burst' }));
    const limited = await request(s, { type: 'hello', client: 'burst' });
    assert.equal(limited.ok, false);
    if (limited.ok) return;
    assert.equal(limited.error.code, 'RATE_LIMITED');
    assert.equal(limited.error.retryAfterMs, 500);
    assert.equal(ackProblem(limited), undefined);
    // Even a malformed request costs a token: the check comes before any parsing.
    assert.equal(
      code((await s.timeout(5_000).emitWithAck('request', { type: 'nonsense' })) as Ack<unknown>),
      'RATE_LIMITED',
    );
    // Each connection has its own bucket.
    const other = await sockets.connect((await fx.createUser()).token);
    ok(await request(other, { type: 'hello', client: 'other' }));

    clock.advance(500);
    ok(await request(s, { type: 'hello', client: 'later' }));
    assert.ok(s.connected);
  });

  it('disconnects a connection that keeps hammering far past the limit', async () => {
    const s = await sockets.connect((await fx.createUser()).token);
    const dropped = disconnected(s);
    // 5 served, then 10 refusals tolerated: the 16th request on a frozen clock is hammering.
    const acks = [];
    for (let i = 0; i < 16; i++)
      acks.push(s.timeout(5_000).emitWithAck('request', { type: 'hello', client: 'flood' }));
    await dropped;
    const answered = await Promise.allSettled(acks);
    const codes = answered.map((a) =>
      a.status === 'fulfilled'
        ? (a.value as Ack<unknown>).ok
          ? 'ok'
          : code(a.value as Ack<unknown>)
        : 'none',
    );
    assert.deepEqual(codes.slice(0, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
    assert.ok(
      codes.slice(5, 15).every((c) => c === 'RATE_LIMITED'),
      codes.join(','),
    );
    assert.equal(s.connected, false);
  });

  it('closes a connection whose message is larger than the size limit', async () => {
    const s = await sockets.connect((await fx.createUser()).token);
    const dropped = disconnected(s);
    s.emit(
      'request',
      { type: 'hello', client: 'x'.repeat(testStack().config.signaling.maxMessageBytes + 1) },
      () => undefined,
    );
    await dropped;
    assert.equal(s.connected, false);
  });
});
