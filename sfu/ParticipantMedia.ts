import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { MeetingMedia } from './MeetingMedia.js';

export type MediaSource = 'mic' | 'camera' | 'screen';
export type TransportDirection = 'send' | 'recv';

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
}

export interface ParticipantMediaEvents {
  /** A consumer closed on its own (its producer went away); tell the client. */
  consumerclosed: [consumerId: string];
  /** Simulcast layers of a consumer changed. */
  layerschange: [consumerId: string, layers: types.ConsumerLayers | undefined];
  /** A consumer's producer was paused or resumed (e.g. muted). */
  consumerpaused: [consumerId: string, paused: boolean];
}

/** Thrown for a request about a transport, producer or consumer this participant does not own. */
export class UnknownMediaError extends Error {
  constructor(what: string) {
    super(`unknown ${what}`);
    this.name = 'UnknownMediaError';
  }
}

/**
 * One participant's media: its send and receive transports on the router it was placed on, its producers and
 * consumers. `close()` closes everything it owns; nothing here outlives the participant.
 */
export class ParticipantMedia extends EventEmitter<ParticipantMediaEvents> {
  readonly participantId: string;
  readonly #meeting: MeetingMedia;
  readonly #router: types.Router;
  readonly #webRtcServer: types.WebRtcServer;
  readonly #transports = new Map<string, types.WebRtcTransport>();
  readonly #producers = new Map<string, types.Producer>();
  readonly #consumers = new Map<string, types.Consumer>();
  #rtpCapabilities: types.RtpCapabilities | undefined;
  #closed = false;

  private constructor(
    participantId: string,
    meeting: MeetingMedia,
    router: types.Router,
    server: types.WebRtcServer,
  ) {
    super();
    this.participantId = participantId;
    this.#meeting = meeting;
    this.#router = router;
    this.#webRtcServer = server;
  }

  static async create(participantId: string, meeting: MeetingMedia): Promise<ParticipantMedia> {
    const { router, webRtcServer } = await meeting.placeParticipant();
    return new ParticipantMedia(participantId, meeting, router, webRtcServer);
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
    const transport = await this.#router.createWebRtcTransport({
      webRtcServer: this.#webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { direction, participantId: this.participantId },
    });
    this.#transports.set(transport.id, transport);
    transport.observer.once('close', () => this.#transports.delete(transport.id));
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    await this.#transport(transportId).connect({ dtlsParameters });
  }

  async restartIce(transportId: string): Promise<types.IceParameters> {
    return this.#transport(transportId).restartIce();
  }

  async produce(
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
    source: MediaSource,
  ): Promise<types.Producer> {
    const producer = await this.#transport(transportId).produce({
      kind,
      rtpParameters,
      appData: { participantId: this.participantId, source },
    });
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => this.#producers.delete(producer.id));
    await this.#meeting.publish(producer, this.#router);
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
   * the client resumes them once its track is wired, so no keyframe is lost.
   */
  async consume(producer: types.Producer): Promise<ConsumerOptions | undefined> {
    const caps = this.#rtpCapabilities;
    if (!caps || !this.#router.canConsume({ producerId: producer.id, rtpCapabilities: caps }))
      return undefined;
    const recv = [...this.#transports.values()].find(
      (t) => (t.appData as { direction?: string }).direction === 'recv',
    );
    if (!recv) return undefined;
    const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
    this.#consumers.set(consumer.id, consumer);
    this.#meeting.consumerAdded(this.#router);
    consumer.observer.once('close', () => {
      this.#consumers.delete(consumer.id);
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
    };
  }

  /** Closes every consumer (the transports and producers stay). */
  closeConsumers(): void {
    for (const consumer of [...this.#consumers.values()]) consumer.close();
  }

  async resumeConsumer(consumerId: string): Promise<void> {
    await this.#consumer(consumerId).resume();
  }

  /** Follows what the receiver shows: a small tile wants a low spatial layer, a hidden tab none at all. */
  async setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    await this.#consumer(consumerId).setPreferredLayers({
      spatialLayer,
      ...(temporalLayer === undefined ? {} : { temporalLayer }),
    });
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
