import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { MeetingMedia } from './MeetingMedia.js';
import { MediaLimitError, MediaRequestError, mediasoupCall, UnknownMediaError } from './mediaErrors.js';

export type MediaSource = 'mic' | 'camera' | 'screen';
export type TransportDirection = 'send' | 'recv';

/** The kind each source must have: a microphone is audio, a camera or a shared screen is video. */
const KIND_OF_SOURCE: Record<MediaSource, types.MediaKind> = {
  mic: 'audio',
  camera: 'video',
  screen: 'video',
};

export interface ParticipantLimits {
  /** WebRtcTransports of either direction that this participant may hold at once. */
  maxTransports: number;
}

/** Generous enough for sfu/ used on its own (tests, tools); the server passes the configured caps. */
const DEFAULT_LIMITS: ParticipantLimits = { maxTransports: 8 };

export interface TransportOptions {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

export interface ConsumerOptions {
  id: string;
  producerId: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  /** The producing participant, from the producer's appData. */
  producerOwner: string;
  source: MediaSource;
  producerPaused: boolean;
  /** False when this participant already consumed that producer: the existing consumer is described again. */
  created: boolean;
}

export interface ParticipantMediaEvents {
  /** A consumer closed on its own (its producer went away); tell the client. */
  consumerclosed: [consumerId: string];
  /** Simulcast layers of a consumer changed. */
  layerschange: [consumerId: string, layers: types.ConsumerLayers | undefined];
  /** A consumer's producer was paused or resumed (e.g. muted). */
  consumerpaused: [consumerId: string, paused: boolean];
}

export { UnknownMediaError };

/**
 * One participant's media: its send and receive transports on the router it was placed on, its producers and
 * consumers. `close()` closes everything it owns; nothing here outlives the participant.
 *
 * It holds the per-participant caps: at most `maxTransports` transports, one producer per source, one consumer
 * per producer. Each is reserved synchronously before the first await, so requests sent in parallel cannot all
 * pass the check before any of them is counted.
 */
export class ParticipantMedia extends EventEmitter<ParticipantMediaEvents> {
  readonly participantId: string;
  readonly #meeting: MeetingMedia;
  readonly #router: types.Router;
  readonly #webRtcServer: types.WebRtcServer;
  readonly #transports = new Map<string, types.WebRtcTransport>();
  readonly #producers = new Map<string, types.Producer>();
  readonly #consumers = new Map<string, types.Consumer>();
  readonly #limits: ParticipantLimits;
  /** Transports being created: counted against the cap until they exist. */
  #pendingTransports = 0;
  /** Transports whose `connect` was asked for (pending or done): a second one is a client mistake. */
  readonly #connected = new Set<string>();
  /** Sources with a producer, or one being created. */
  readonly #sources = new Set<MediaSource>();
  /** Consumers by the producer they consume (being created or live): at most one each. */
  readonly #byProducer = new Map<string, Promise<ConsumerOptions | undefined>>();
  #rtpCapabilities: types.RtpCapabilities | undefined;
  #closed = false;

  private constructor(
    participantId: string,
    meeting: MeetingMedia,
    router: types.Router,
    server: types.WebRtcServer,
    limits: ParticipantLimits,
  ) {
    super();
    this.participantId = participantId;
    this.#meeting = meeting;
    this.#router = router;
    this.#webRtcServer = server;
    this.#limits = limits;
  }

  static async create(
    participantId: string,
    meeting: MeetingMedia,
    limits: ParticipantLimits = DEFAULT_LIMITS,
  ): Promise<ParticipantMedia> {
    const { router, webRtcServer } = await meeting.placeParticipant();
    return new ParticipantMedia(participantId, meeting, router, webRtcServer, limits);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get routerId(): string {
    return this.#router.id;
  }

  get counts(): { transports: number; producers: number; consumers: number } {
    return {
      transports: this.#transports.size,
      producers: this.#producers.size,
      consumers: this.#consumers.size,
    };
  }

  /** The receiver's capabilities, needed before anything can be consumed. */
  setRtpCapabilities(caps: types.RtpCapabilities): void {
    this.#rtpCapabilities = caps;
  }

  async createTransport(direction: TransportDirection): Promise<TransportOptions> {
    if (this.#transports.size + this.#pendingTransports >= this.#limits.maxTransports) {
      throw new MediaLimitError(
        `At most ${this.#limits.maxTransports} transports per participant`,
        'direction',
      );
    }
    this.#pendingTransports++;
    let transport: types.WebRtcTransport;
    try {
      transport = await mediasoupCall(() =>
        this.#router.createWebRtcTransport({
          webRtcServer: this.#webRtcServer,
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          initialAvailableOutgoingBitrate: 1_000_000,
          appData: { direction, participantId: this.participantId },
        }),
      );
    } finally {
      this.#pendingTransports--;
    }
    // Closed meanwhile (the participant left during the request): nothing may outlive close().
    if (this.#closed) {
      transport.close();
      throw new UnknownMediaError('transport');
    }
    this.#transports.set(transport.id, transport);
    transport.observer.once('close', () => {
      this.#transports.delete(transport.id);
      this.#connected.delete(transport.id);
    });
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const transport = this.#transport(transportId);
    if (this.#connected.has(transportId)) {
      throw new MediaRequestError('conflict', 'The transport is already connected', 'transportId');
    }
    this.#connected.add(transportId);
    try {
      await mediasoupCall(() => transport.connect({ dtlsParameters }));
    } catch (err) {
      // Refused parameters leave it unconnected: the client may try again with good ones.
      this.#connected.delete(transportId);
      throw err;
    }
  }

  /** Closes one transport, and with it its producers and consumers: their places under the caps are free. */
  closeTransport(transportId: string): void {
    this.#transport(transportId).close();
  }

  async restartIce(transportId: string): Promise<types.IceParameters> {
    const transport = this.#transport(transportId);
    return mediasoupCall(() => transport.restartIce());
  }

  async produce(
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
    source: MediaSource,
  ): Promise<types.Producer> {
    const transport = this.#transport(transportId);
    if ((transport.appData as { direction?: string }).direction !== 'send') {
      throw new MediaRequestError('conflict', 'Produce on a send transport', 'transportId');
    }
    if (KIND_OF_SOURCE[source] !== kind) {
      throw new MediaRequestError('invalid', `A ${source} is ${KIND_OF_SOURCE[source]}`, 'kind');
    }
    if (this.#sources.has(source)) {
      throw new MediaLimitError(
        `One ${source} producer per participant: close the current one first`,
        'source',
      );
    }
    this.#sources.add(source);
    let producer: types.Producer;
    try {
      producer = await mediasoupCall(() =>
        transport.produce({ kind, rtpParameters, appData: { participantId: this.participantId, source } }),
      );
    } catch (err) {
      this.#sources.delete(source);
      throw err;
    }
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      this.#producers.delete(producer.id);
      this.#sources.delete(source);
    });
    await mediasoupCall(() => this.#meeting.publish(producer, this.#router));
    return producer;
  }

  producer(producerId: string): types.Producer {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new UnknownMediaError('producer');
    return producer;
  }

  /** Producers of this participant with a given source (e.g. the mic, for moderation). */
  producersBySource(source: MediaSource): types.Producer[] {
    return [...this.#producers.values()].filter((p) => (p.appData as { source?: string }).source === source);
  }

  closeProducer(producerId: string): void {
    this.producer(producerId).close();
  }

  /**
   * Consumes another participant's producer on this participant's receive transport. Consumers start paused:
   * the client resumes them once its track is wired, so no keyframe is lost. A producer already consumed (or
   * being consumed) is not consumed twice: its existing consumer is described again, with `created: false`.
   */
  consume(producer: types.Producer): Promise<ConsumerOptions | undefined> {
    const existing = this.#byProducer.get(producer.id);
    if (existing) return existing.then((o) => (o ? { ...o, created: false } : this.consume(producer)));
    const pending = this.#createConsumer(producer);
    this.#byProducer.set(producer.id, pending);
    // Nothing was created (not consumable, no receive transport yet, or a failure): a later call may try again.
    const forget = (): void => {
      if (this.#byProducer.get(producer.id) === pending) this.#byProducer.delete(producer.id);
    };
    pending.then((o) => {
      if (!o) forget();
    }, forget);
    return pending;
  }

  async #createConsumer(producer: types.Producer): Promise<ConsumerOptions | undefined> {
    const caps = this.#rtpCapabilities;
    if (!caps || !this.#router.canConsume({ producerId: producer.id, rtpCapabilities: caps }))
      return undefined;
    const recv = [...this.#transports.values()].find(
      (t) => (t.appData as { direction?: string }).direction === 'recv',
    );
    if (!recv) return undefined;
    const consumer = await mediasoupCall(() =>
      recv.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true }),
    );
    this.#consumers.set(consumer.id, consumer);
    this.#meeting.consumerAdded(this.#router);
    consumer.observer.once('close', () => {
      this.#consumers.delete(consumer.id);
      this.#byProducer.delete(producer.id);
      this.#meeting.consumerRemoved(this.#router);
    });
    consumer.on('producerclose', () => {
      this.emit('consumerclosed', consumer.id);
    });
    consumer.on('producerpause', () => this.emit('consumerpaused', consumer.id, true));
    consumer.on('producerresume', () => this.emit('consumerpaused', consumer.id, false));
    consumer.on('layerschange', (layers) => this.emit('layerschange', consumer.id, layers));
    const appData = producer.appData as { participantId?: string; source?: MediaSource };
    return {
      id: consumer.id,
      producerId: producer.id,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      producerOwner: appData.participantId ?? '',
      source: appData.source ?? (producer.kind === 'audio' ? 'mic' : 'camera'),
      producerPaused: consumer.producerPaused,
      created: true,
    };
  }

  /** Closes every consumer (the transports and producers stay). */
  closeConsumers(): void {
    for (const consumer of [...this.#consumers.values()]) consumer.close();
  }

  async resumeConsumer(consumerId: string): Promise<void> {
    const consumer = this.#consumer(consumerId);
    await mediasoupCall(() => consumer.resume());
  }

  /** Follows what the receiver shows: a small tile wants a low spatial layer, a hidden tab none at all. */
  async setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    const consumer = this.#consumer(consumerId);
    await mediasoupCall(() =>
      consumer.setPreferredLayers({
        spatialLayer,
        ...(temporalLayer === undefined ? {} : { temporalLayer }),
      }),
    );
  }

  consumer(consumerId: string): types.Consumer {
    return this.#consumer(consumerId);
  }

  /** Idempotent: closes every transport, and with them every producer and consumer of this participant. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of [...this.#transports.values()]) transport.close();
    this.#transports.clear();
  }

  #transport(id: string): types.WebRtcTransport {
    const transport = this.#transports.get(id);
    if (!transport) throw new UnknownMediaError('transport');
    return transport;
  }

  #consumer(id: string): types.Consumer {
    const consumer = this.#consumers.get(id);
    if (!consumer) throw new UnknownMediaError('consumer');
    return consumer;
  }
}
