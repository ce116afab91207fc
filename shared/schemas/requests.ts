import { z } from 'zod';
import { messageBodySchema, roomIdSchema } from './chat.js';
import { guestCodeSchema, meetingIdSchema } from './meetings.js';

/**
 * Every socket request is one `request` event whose payload is this discriminated union. The server checks it
 * with zod and hands it to the one handler of its type (server/signaling/requestHandlers.ts).
 */
/** mediasoup's own objects are checked structurally here and in depth by mediasoup itself. */
const dtlsParametersSchema = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.looseObject({ algorithm: z.string().max(32), value: z.string().max(256) }))
    .min(1)
    .max(8),
});
const rtpParametersSchema = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z
    .array(
      z.looseObject({
        mimeType: z.string().max(64),
        payloadType: z.number().int(),
        clockRate: z.number().int(),
      }),
    )
    .min(1)
    .max(32),
  encodings: z.array(z.looseObject({})).max(8).optional(),
  headerExtensions: z.array(z.looseObject({})).max(32).optional(),
  rtcp: z.looseObject({}).optional(),
});
const rtpCapabilitiesSchema = z.looseObject({
  codecs: z
    .array(z.looseObject({ mimeType: z.string().max(64), kind: z.enum(['audio', 'video']) }))
    .max(64)
    .optional(),
  headerExtensions: z.array(z.looseObject({})).max(64).optional(),
});
const mediaIdSchema = z.uuid();

export const clientRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), client: z.string().trim().min(1).max(64) }),
  /** A fresh token of the same user (or guest) for this socket, sent before the current one expires. */
  z.strictObject({ type: z.literal('auth.refresh'), token: z.string().min(1).max(4096) }),
  z.strictObject({
    type: z.literal('meeting.join'),
    meetingId: meetingIdSchema,
    /** Lets a colleague who was not invited join with the meeting's link. */
    guestCode: guestCodeSchema.optional(),
    /** The credential handed out at the previous join: lets a dropped participant back in after the end time. */
    rejoinToken: z.string().min(20).max(100).optional(),
  }),
  z.strictObject({ type: z.literal('meeting.leave') }),
  z.strictObject({ type: z.literal('meeting.removeParticipant'), participantId: z.uuid() }),
  z.strictObject({ type: z.literal('meeting.end') }),
  z.strictObject({ type: z.literal('meeting.raiseHand'), raised: z.boolean() }),
  /** Organizer: let in, or turn away (denylisted like a removal), someone knocking in the lobby. */
  z.strictObject({ type: z.literal('meeting.admit'), waiterId: z.uuid() }),
  z.strictObject({ type: z.literal('meeting.deny'), waiterId: z.uuid() }),

  // Media, for admitted participants. The flow: capabilities → transports → connect → produce → ready.
  z.strictObject({ type: z.literal('media.getRouterRtpCapabilities') }),
  z.strictObject({ type: z.literal('media.createTransport'), direction: z.enum(['send', 'recv']) }),
  z.strictObject({
    type: z.literal('media.connectTransport'),
    transportId: mediaIdSchema,
    dtlsParameters: dtlsParametersSchema,
  }),
  z.strictObject({ type: z.literal('media.restartIce'), transportId: mediaIdSchema }),
  /** Frees a transport (and its producers and consumers) and its place under the per-participant cap. */
  z.strictObject({ type: z.literal('media.closeTransport'), transportId: mediaIdSchema }),
  z.strictObject({
    type: z.literal('media.produce'),
    transportId: mediaIdSchema,
    kind: z.enum(['audio', 'video']),
    rtpParameters: rtpParametersSchema,
    source: z.enum(['mic', 'camera', 'screen']),
  }),
  /** The receiver's capabilities; the answer lists a consumer for every producer already in the meeting. */
  z.strictObject({ type: z.literal('media.ready'), rtpCapabilities: rtpCapabilitiesSchema }),
  z.strictObject({ type: z.literal('media.resumeConsumer'), consumerId: mediaIdSchema }),
  z.strictObject({
    type: z.literal('media.setPreferredLayers'),
    consumerId: mediaIdSchema,
    spatialLayer: z.number().int().min(0).max(2),
    temporalLayer: z.number().int().min(0).max(2).optional(),
  }),
  z.strictObject({ type: z.literal('media.pauseProducer'), producerId: mediaIdSchema }),
  z.strictObject({ type: z.literal('media.resumeProducer'), producerId: mediaIdSchema }),
  z.strictObject({ type: z.literal('media.closeProducer'), producerId: mediaIdSchema }),
  /** Organizer: pause someone's microphone; with `lock`, they cannot unmute themselves. */
  z.strictObject({
    type: z.literal('media.muteParticipant'),
    participantId: z.uuid(),
    lock: z.boolean().default(false),
  }),
  z.strictObject({ type: z.literal('media.unlockParticipant'), participantId: z.uuid() }),
  /** Organizer: stop someone's camera. */
  z.strictObject({ type: z.literal('media.stopCamera'), participantId: z.uuid() }),

  // Chat. Directory users only: typing in one of their chat rooms.
  z.strictObject({ type: z.literal('chat.typing'), roomId: roomIdSchema, typing: z.boolean() }),
  // The in-call chat of the socket's current meeting, for every admitted participant (users and guests).
  z.strictObject({ type: z.literal('meeting.chat.send'), body: messageBodySchema }),
  /** Newest first; pass the answer's `next` as `from` for older messages. */
  z.strictObject({
    type: z.literal('meeting.chat.history'),
    limit: z.number().int().min(1).max(100).default(30),
    from: z.string().min(1).max(500).optional(),
  }),
]);

export type ClientRequest = z.infer<typeof clientRequestSchema>;
export type ClientRequestType = ClientRequest['type'];
