import type { RequestResponses } from '../../shared/protocol.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import type { MediaRooms } from '../meetings/MediaRooms.js';
import type { RequestHandlers } from './requestHandlers.js';
import { organizerSeatOf, seatOf } from './seat.js';

export interface MediaHandlerDeps {
  gate: AdmissionGate;
  media: MediaRooms;
}

type MediaRequest = Extract<keyof RequestResponses, `media.${string}`>;

/** The media flow of an admitted participant, and the organizer's media moderation. */
export function mediaHandlers({ gate, media }: MediaHandlerDeps): RequestHandlers<MediaRequest> {
  return {
    'media.getRouterRtpCapabilities': async (_request, { socket }) => {
      const seat = seatOf(gate, socket);
      return { rtpCapabilities: await media.rtpCapabilities(seat.meetingId) };
    },
    'media.createTransport': (request, { socket }) => {
      const seat = seatOf(gate, socket);
      return media.createTransport(seat.meetingId, seat.participantId, request.direction);
    },
    'media.connectTransport': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.connectTransport(
        seat.meetingId,
        seat.participantId,
        request.transportId,
        request.dtlsParameters,
      );
      return { connected: true };
    },
    'media.closeTransport': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.closeTransport(seat.meetingId, seat.participantId, request.transportId);
      return { closed: true };
    },
    'media.restartIce': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      return {
        iceParameters: await media.restartIce(seat.meetingId, seat.participantId, request.transportId),
      };
    },
    'media.produce': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      const producerId = await media.produce(
        seat.meetingId,
        seat.participantId,
        request.transportId,
        request.kind,
        request.rtpParameters,
        request.source,
      );
      return { producerId };
    },
    'media.ready': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      const consumers = await media.ready(
        seat.meetingId,
        seat.participantId,
        request.rtpCapabilities,
        socket.id,
      );
      const activeSpeaker = media.activeSpeaker(seat.meetingId);
      return activeSpeaker ? { consumers, activeSpeaker } : { consumers };
    },
    'media.resumeConsumer': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.resumeConsumer(seat.meetingId, seat.participantId, request.consumerId);
      return { resumed: true };
    },
    'media.setPreferredLayers': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.setPreferredLayers(
        seat.meetingId,
        seat.participantId,
        request.consumerId,
        request.spatialLayer,
        request.temporalLayer,
      );
      return { set: true };
    },
    'media.pauseProducer': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.pauseProducer(seat.meetingId, seat.participantId, request.producerId, true);
      return { paused: true };
    },
    'media.resumeProducer': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.pauseProducer(seat.meetingId, seat.participantId, request.producerId, false);
      return { paused: false };
    },
    'media.closeProducer': async (request, { socket }) => {
      const seat = seatOf(gate, socket);
      await media.closeProducer(seat.meetingId, seat.participantId, request.producerId);
      return { closed: true };
    },
    'media.muteParticipant': async (request, { socket }) => {
      const seat = organizerSeatOf(gate, socket);
      return { muted: await media.mute(seat.meetingId, request.participantId, request.lock) };
    },
    'media.unlockParticipant': async (request, { socket }) => {
      const seat = organizerSeatOf(gate, socket);
      await media.unlock(seat.meetingId, request.participantId);
      return { unlocked: true };
    },
    'media.stopCamera': async (request, { socket }) => {
      const seat = organizerSeatOf(gate, socket);
      return { stopped: await media.stopCamera(seat.meetingId, request.participantId) };
    },
  };
}
