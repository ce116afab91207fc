import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERROR_CODES, type ErrorBody } from '../../shared/errors.js';
import type { Ack } from '../../shared/protocol.js';
import type { ClientSocket } from './sockets.js';

/** Requests, answers and generators of malformed requests for the socket abuse tests. */
export const OPUS = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2 }],
  encodings: [{ ssrc: 11_111 }],
};
export function vp8(ssrc: number): object {
  return { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000 }], encodings: [{ ssrc }] };
}
/** A well-formed DTLS fingerprint (sha-256, 32 bytes in hex pairs). */
export const DTLS = {
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
};

export const KNOWN_CODES = new Set<string>(ERROR_CODES);
export const BODY_KEYS = new Set(['code', 'message', 'details', 'retryAfterMs']);

export function ok<T>(ack: Ack<T>): T {
  assert.ok(ack.ok, `request failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

export function code(ack: Ack<unknown>): string {
  assert.equal(ack.ok, false, `expected an error: ${JSON.stringify(ack)}`);
  return ack.ok ? '' : ack.error.code;
}

/** What is wrong with an ack, if anything: the documented shape, a known code, never INTERNAL. */
export function ackProblem(ack: unknown): string | undefined {
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
export function text(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

export function disconnected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve) => socket.once('disconnect', () => resolve()));
}

export function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { n: value } : [value];
  return value;
}

/** Ids that exist in the suite's meeting, so that malformed requests also reach the deeper layers. */
export interface LiveIds {
  meetingId: string;
  transportId: string;
  recvTransportId: string;
  producerId: string;
  consumerId: string;
  participantId: string;
}

/** A request of each type as a client would send it, with live ids: the starting point for mutations. */
export function baseRequest(type: string, ids: LiveIds): Record<string, unknown> {
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
export const smallJunk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, maxKeys: 5, withNullPrototype: true, withBigInt: false }),
  fc.constantFrom(null, -1, 1e308, Number.NaN, '', ' ', '\u0000', true, [], {}),
  fc.integer({ min: 1, max: 60 }).map(nested),
  fc.string({ maxLength: 40 }),
  fc.uuid(),
  fc.constantFrom('00000000-0000-4000-8000-000000000000', 'not-an-id', '0123456789abcdef01234567'),
);
/** With a huge string too (100,000 characters: one per message stays under the size limit). */
export const junk: fc.Arbitrary<unknown> = fc.oneof(smallJunk, fc.constant('x'.repeat(100_000)));

export const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype');

/** Any value inside mediasoup's loose objects, where zod lets it through; now and then a deep one. */
export const looseValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.anything({ maxDepth: 2, maxKeys: 3, withNullPrototype: true, withBigInt: false }),
    weight: 6,
  },
  { arbitrary: fc.integer({ min: 11, max: 40 }).map(nested), weight: 1 },
);
export const someInt = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER),
);
/** Mostly what a browser sends, sometimes anything: realistic values get further into mediasoup. */
export function mostly<T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: usual, weight: 3 }, { arbitrary: odd, weight: 1 });
}
export const mimeType = mostly(
  fc.constantFrom('audio/opus', 'video/VP8'),
  fc.constantFrom('video/H264', 'audio/nope', 'video/rtx', 'x', ''),
);

/** RTP parameters that pass the schema (which checks only their outline) and are odd in every other way. */
export const schemaValidRtpParameters = fc.record(
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
export const schemaValidDtls = fc.record(
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
export const schemaValidCaps = fc.record(
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
export type Mutation = (base: Record<string, unknown>) => unknown;
export const mutations: fc.Arbitrary<Mutation> = fc.oneof(
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
