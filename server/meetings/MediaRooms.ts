import type { types } from 'mediasoup';
import type { ConsumerInfo, IceServer, MediaSource, TransportInfo } from '../../shared/protocol.js';
import { MeetingMedia } from '../../sfu/MeetingMedia.js';
import { mediasoupCall } from '../../sfu/mediaErrors.js';
import {
  ParticipantMedia,
  type ParticipantLimits,
  type TransportDirection,
} from '../../sfu/ParticipantMedia.js';
import type { WorkerPool } from '../../sfu/WorkerPool.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { micLocked } from './errors.js';
import type { Logger } from '../logger.js';
import { SafeEmitter } from '../util/SafeEmitter.js';

export interface MediaRoomsOptions {
  pool: WorkerPool;
  consumerThreshold: number;
  /** Per-participant caps (transports); one producer per source and one consumer per producer always hold. */
  limits: ParticipantLimits;
  logger: Logger;
  /** ICE servers (TURN with short-lived credentials) handed to a participant's transports. */
  iceServers: (participantId: string) => IceServer[];
}

/** Everything the transport layer must tell one participant, or a whole meeting. */
export interface MediaRoomsEvents {
  newConsumer: [participantId: string, consumer: ConsumerInfo];
  consumerClosed: [participantId: string, consumerId: string];
  consumerPaused: [participantId: string, consumerId: string, paused: boolean];
  layersChanged: [participantId: string, consumerId: string, layers: types.ConsumerLayers | undefined];
  activeSpeaker: [meetingId: string, participantId: string];
  mutedByOrganizer: [participantId: string, locked: boolean];
  cameraStopped: [participantId: string];
  micUnlocked: [participantId: string];
  restart: [participantId: string, reason: string];
}

interface Seat {
  meetingId: string;
  media: ParticipantMedia;
  /** Set by `media.ready`: from then on, new producers are consumed for this participant automatically. */
  ready: boolean;
  /** The socket whose `media.ready` the current consumers answer; a new socket (a rejoin) re-creates them. */
  readySession: string | undefined;
  /** The organizer locked this participant's microphone. */
  micLocked: boolean;
}

/**
 * The media of admitted participants, by meeting: one MeetingMedia (routers) per live meeting and one
 * ParticipantMedia per participant, created on demand and closed when they leave. It applies the meeting's media
 * rules (who consumes what, organizer mutes) on top of sfu/, which knows only media ids. sfu/'s refusals
 * (unknown ids, caps, what mediasoup will not take) pass through unchanged: signaling/toAck.ts maps them.
 */
export class MediaRooms extends SafeEmitter<MediaRoomsEvents> {
  readonly #log: Logger;
  readonly #o: MediaRoomsOptions;
  readonly #meetings = new Map<string, Promise<MeetingMedia>>();
  /**
   * By participant. A dropped participant's seat stays as it is (the others keep consuming it) until the
   * admission gate says they are out for good (`leave`): their grace window is the gate's to time.
   */
  readonly #seats = new Map<string, Promise<Seat>>();
  /** The last active speaker of each meeting, for those who arrive after it was announced. */
  readonly #speakers = new Map<string, string>();

  constructor(options: MediaRoomsOptions) {
    const log = options.logger.child({ component: 'media' });
    super(log);
    this.#log = log;
    this.#o = options;
  }

  async rtpCapabilities(meetingId: string): Promise<types.RtpCapabilities> {
    const media = await this.#meeting(meetingId);
    await media.routed();
    return media.rtpCapabilities;
  }

  async createTransport(
    meetingId: string,
    participantId: string,
    direction: TransportDirection,
  ): Promise<TransportInfo> {
    const seat = await this.#seat(meetingId, participantId);
    const info = await seat.media.createTransport(direction);
    return { ...info, iceServers: this.#o.iceServers(participantId) };
  }

  async connectTransport(
    meetingId: string,
    participantId: string,
    transportId: string,
    dtls: unknown,
  ): Promise<void> {
    const seat = await this.#seat(meetingId, participantId);
    await seat.media.connectTransport(transportId, dtls as types.DtlsParameters);
  }

  async closeTransport(meetingId: string, participantId: string, transportId: string): Promise<void> {
    const seat = await this.#seat(meetingId, participantId);
    seat.media.closeTransport(transportId);
  }

  async restartIce(
    meetingId: string,
    participantId: string,
    transportId: string,
  ): Promise<types.IceParameters> {
    const seat = await this.#seat(meetingId, participantId);
    return seat.media.restartIce(transportId);
  }

  /** A new producer, consumed at once by every other participant who is ready. */
  async produce(
    meetingId: string,
    participantId: string,
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: unknown,
    source: MediaSource,
  ): Promise<string> {
    const seat = await this.#seat(meetingId, participantId);
    if (source === 'mic' && seat.micLocked) throw micLocked();
    const producer = await seat.media.produce(
      transportId,
      kind,
      rtpParameters as types.RtpParameters,
      source,
    );
    for (const [otherId, other] of await this.#seatsOf(meetingId)) {
      if (otherId === participantId || !other.ready) continue;
      await this.#consumeFor(otherId, other, producer);
    }
    return producer.id;
  }

  /** The receiver is set up: consumers for every producer already in the meeting (others' only). */
  activeSpeaker(meetingId: string): string | undefined {
    return this.#speakers.get(meetingId);
  }

  /**
   * `session` is the asking socket. From a new socket (a rejoin) the consumers are re-created: the old ones went
   * with the old socket. From the same socket again, nothing is re-created: only producers without a consumer
   * yet (e.g. the receive transport came after the first ask) are consumed, so asking in a loop creates no
   * duplicates and costs no mediasoup work.
   */
  async ready(
    meetingId: string,
    participantId: string,
    rtpCapabilities: unknown,
    session: string,
  ): Promise<ConsumerInfo[]> {
    const seat = await this.#seat(meetingId, participantId);
    seat.media.setRtpCapabilities(rtpCapabilities as types.RtpCapabilities);
    seat.ready = true;
    if (seat.readySession !== session) {
      seat.readySession = session;
      seat.media.closeConsumers();
    }
    const meeting = await this.#meeting(meetingId);
    const consumers: ConsumerInfo[] = [];
    for (const producer of meeting.producers()) {
      if (ownerOf(producer) === participantId) continue;
      const info = await this.#consume(participantId, seat, producer);
      if (info) consumers.push(info);
    }
    return consumers;
  }

  async resumeConsumer(meetingId: string, participantId: string, consumerId: string): Promise<void> {
    const seat = await this.#seat(meetingId, participantId);
    await seat.media.resumeConsumer(consumerId);
  }

  async setPreferredLayers(
    meetingId: string,
    participantId: string,
    consumerId: string,
    spatialLayer: number,
    temporalLayer?: number,
  ): Promise<void> {
    const seat = await this.#seat(meetingId, participantId);
    await seat.media.setPreferredLayers(consumerId, spatialLayer, temporalLayer);
  }

  async pauseProducer(
    meetingId: string,
    participantId: string,
    producerId: string,
    paused: boolean,
  ): Promise<void> {
    const seat = await this.#seat(meetingId, participantId);
    const producer = seat.media.producer(producerId);
    if (!paused && seat.micLocked && sourceOf(producer) === 'mic') {
      throw micLocked();
    }
    await mediasoupCall(() => (paused ? producer.pause() : producer.resume()));
  }

  async closeProducer(meetingId: string, participantId: string, producerId: string): Promise<void> {
    const seat = await this.#seat(meetingId, participantId);
    seat.media.closeProducer(producerId);
  }

  /** Organizer moderation: pause the microphone, optionally locked. Returns how many producers were paused. */
  async mute(meetingId: string, participantId: string, lock: boolean): Promise<number> {
    const seat = await this.#existingSeat(meetingId, participantId);
    seat.micLocked = lock;
    const mics = seat.media.producersBySource('mic');
    await Promise.all(mics.map((p) => p.pause()));
    this.safeEmit('mutedByOrganizer', participantId, lock);
    return mics.length;
  }

  async unlock(meetingId: string, participantId: string): Promise<void> {
    const seat = await this.#existingSeat(meetingId, participantId);
    seat.micLocked = false;
    this.safeEmit('micUnlocked', participantId);
  }

  async stopCamera(meetingId: string, participantId: string): Promise<number> {
    const seat = await this.#existingSeat(meetingId, participantId);
    const cameras = seat.media.producersBySource('camera');
    for (const camera of cameras) camera.close();
    this.safeEmit('cameraStopped', participantId);
    return cameras.length;
  }

  /** The participant is gone (left, removed, grace over): everything of theirs closes; an empty meeting too. */
  async leave(meetingId: string, participantId: string): Promise<void> {
    const seat = await this.#seats.get(participantId)?.catch(() => undefined);
    this.#seats.delete(participantId);
    seat?.media.close();
    if ((await this.#seatsOf(meetingId)).length === 0) await this.endMeeting(meetingId);
  }

  async endMeeting(meetingId: string): Promise<void> {
    for (const [participantId, seat] of await this.#seatsOf(meetingId)) {
      this.#seats.delete(participantId);
      seat.media.close();
    }
    const meeting = await this.#meetings.get(meetingId)?.catch(() => undefined);
    this.#meetings.delete(meetingId);
    this.#speakers.delete(meetingId);
    meeting?.close();
  }

  /** Counts for leak checks: live meetings, seats, and transports across all seats. */
  async counts(): Promise<{ meetings: number; participants: number; transports: number }> {
    const seats = await Promise.all([...this.#seats.values()].map((s) => s.catch(() => undefined)));
    const transports = seats.reduce((n, s) => n + (s ? s.media.counts.transports : 0), 0);
    return { meetings: this.#meetings.size, participants: this.#seats.size, transports };
  }

  /** Closes every meeting's media; idempotent, and resolves once they are closed. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#meetings.keys()].map((meetingId) =>
        this.endMeeting(meetingId).catch((err: unknown) =>
          this.#log.error({ err, meetingId }, 'ending a meeting on close failed'),
        ),
      ),
    );
  }

  #meeting(meetingId: string): Promise<MeetingMedia> {
    let pending = this.#meetings.get(meetingId);
    if (!pending) {
      pending = MeetingMedia.create({
        pool: this.#o.pool,
        consumerThreshold: this.#o.consumerThreshold,
        logger: this.#log.child({ meetingId }),
      }).then((media) => {
        media.on('activespeaker', (producerId) => {
          const owner = media.producers().find((p) => p.id === producerId);
          if (!owner) return;
          this.#speakers.set(meetingId, ownerOf(owner));
          this.safeEmit('activeSpeaker', meetingId, ownerOf(owner));
        });
        media.on('routerlost', (routerId) => {
          this.#routerLost(meetingId, routerId).catch((err: unknown) =>
            this.#log.error({ err, meetingId }, 'rebuilding media after a lost router failed'),
          );
        });
        return media;
      });
      this.#meetings.set(meetingId, pending);
      pending.catch(() => this.#meetings.delete(meetingId));
    }
    return pending;
  }

  #seat(meetingId: string, participantId: string): Promise<Seat> {
    let pending = this.#seats.get(participantId);
    if (!pending) {
      pending = this.#meeting(meetingId).then(async (meeting) => {
        const media = await ParticipantMedia.create(participantId, meeting, this.#o.limits);
        const seat: Seat = { meetingId, media, ready: false, readySession: undefined, micLocked: false };
        media.on('consumerclosed', (id) => this.safeEmit('consumerClosed', participantId, id));
        media.on('consumerpaused', (id, paused) =>
          this.safeEmit('consumerPaused', participantId, id, paused),
        );
        media.on('layerschange', (id, layers) => this.safeEmit('layersChanged', participantId, id, layers));
        return seat;
      });
      this.#seats.set(participantId, pending);
      pending.catch(() => this.#seats.delete(participantId));
    }
    return pending.then((seat) => {
      if (seat.meetingId !== meetingId) throw new ForbiddenError('This participant is in another meeting');
      return seat;
    });
  }

  async #existingSeat(meetingId: string, participantId: string): Promise<Seat> {
    const seat = await this.#seats.get(participantId)?.catch(() => undefined);
    if (seat?.meetingId !== meetingId)
      throw new NotFoundError('That participant has no media in this meeting');
    return seat;
  }

  async #seatsOf(meetingId: string): Promise<[string, Seat][]> {
    const entries = await Promise.all(
      [...this.#seats].map(async ([id, s]) => [id, await s.catch(() => undefined)] as const),
    );
    return entries.filter((e): e is [string, Seat] => e[1]?.meetingId === meetingId);
  }

  async #consumeFor(participantId: string, seat: Seat, producer: types.Producer): Promise<void> {
    const info = await this.#consume(participantId, seat, producer);
    if (info) this.safeEmit('newConsumer', participantId, info);
  }

  /** A consumer this call created; undefined when none (not consumable, or it existed: the client has it). */
  async #consume(
    participantId: string,
    seat: Seat,
    producer: types.Producer,
  ): Promise<ConsumerInfo | undefined> {
    try {
      const consumer = await seat.media.consume(producer);
      if (!consumer?.created) return undefined;
      return {
        id: consumer.id,
        producerId: consumer.producerId,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters,
        participantId: consumer.producerOwner,
        source: consumer.source,
        paused: true,
        producerPaused: consumer.producerPaused,
      };
    } catch (err) {
      // One failed consumer must not break the others (e.g. the producer closed meanwhile).
      this.#log.warn({ err, participantId, producerId: producer.id }, 'could not create a consumer');
      return undefined;
    }
  }

  /** A worker died: the participants placed on its router rebuild their media from scratch. */
  async #routerLost(meetingId: string, routerId: string): Promise<void> {
    for (const [participantId, seat] of await this.#seatsOf(meetingId)) {
      if (seat.media.routerId !== routerId) continue;
      this.#seats.delete(participantId);
      seat.media.close();
      this.safeEmit('restart', participantId, 'media server restarted');
    }
  }
}

function ownerOf(producer: types.Producer): string {
  return (producer.appData as { participantId?: string }).participantId ?? '';
}

function sourceOf(producer: types.Producer): string | undefined {
  return (producer.appData as { source?: string }).source;
}
