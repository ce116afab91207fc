import type { types } from 'mediasoup-client';
import type { MediaSource } from '../../../shared/protocol.js';
import { Emitter } from './Emitter.js';
import { RequestError, type MeetingConnection } from './MeetingConnection.js';

/** A track this browser publishes. */
export interface LocalTrack {
  source: MediaSource;
  track: MediaStreamTrack;
  producerId: string | undefined;
  paused: boolean;
}

export interface MicState {
  muted: boolean;
  /** Muted by the organizer, who locked it: unmuting is refused until they unlock it. */
  locked: boolean;
}

export interface PublisherOptions {
  /** The camera's simulcast layers, lowest first. */
  cameraEncodings?: types.RtpEncodingParameters[];
  /** The camera codec, when the router offers it; VP8 otherwise. */
  videoCodec?: 'VP8' | 'H264';
}

export interface PublisherEvents extends Record<string, unknown[]> {
  localTrackAdded: [LocalTrack];
  localTrackRemoved: [LocalTrack];
  micState: [MicState];
  error: [unknown];
}

/** Three spatial layers (¼, ½ and full resolution), each with three temporal layers. */
export const DEFAULT_CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
  { scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];

interface Local extends LocalTrack {
  producer: types.Producer | undefined;
  /** Stop the track when it is unpublished: this session captured it. */
  owned: boolean;
}

/**
 * What this browser sends: one producer per source (mic, camera with simulcast, screen) on the send transport.
 * The tracks outlive the producers: after a rebuild `produceAll` sends the same tracks again.
 */
export class Publisher extends Emitter<PublisherEvents> {
  readonly #conn: MeetingConnection;
  readonly #options: PublisherOptions;
  readonly #locals = new Map<MediaSource, Local>();
  #mic: MicState = { muted: false, locked: false };

  constructor(connection: MeetingConnection, options: PublisherOptions = {}) {
    super();
    this.#conn = connection;
    this.#options = options;
  }

  get mic(): MicState {
    return { ...this.#mic };
  }

  localTracks(): LocalTrack[] {
    return [...this.#locals.values()].map(publicLocal);
  }

  producer(source: MediaSource): types.Producer | undefined {
    return this.#locals.get(source)?.producer;
  }

  /** Publishes `track` as `source`, replacing what that source sent; `current` as in `produceAll`. */
  async publish(
    send: types.Transport,
    device: types.Device,
    source: MediaSource,
    track: MediaStreamTrack,
    owned: boolean,
    current: () => boolean,
  ): Promise<LocalTrack> {
    if (this.#locals.has(source)) await this.unpublish(source);
    const local: Local = { source, track, producerId: undefined, paused: false, producer: undefined, owned };
    if (source === 'mic' && this.#mic.muted) local.paused = true;
    this.#locals.set(source, local);
    try {
      await this.#produce(send, device, local, current);
    } catch (err) {
      this.#locals.delete(source);
      if (owned) track.stop();
      throw err;
    }
    this.emit('localTrackAdded', publicLocal(local));
    return publicLocal(local);
  }

  /** After a rebuild: the same tracks on the new send transport. `current()` false: a newer rebuild took over. */
  async produceAll(send: types.Transport, device: types.Device, current: () => boolean): Promise<void> {
    for (const local of this.#locals.values()) await this.#produce(send, device, local, current);
  }

  /** Stops publishing a source and tells the server. */
  async unpublish(source: MediaSource): Promise<void> {
    const local = this.#locals.get(source);
    if (!local) return;
    this.#locals.delete(source);
    const producerId = local.producer?.id;
    this.#drop(local);
    if (producerId) {
      await this.#conn.request({ type: 'media.closeProducer', producerId }).catch((err: unknown) => {
        if (!(err instanceof RequestError && err.code === 'NOT_FOUND')) throw err;
      });
    }
  }

  async muteMic(): Promise<void> {
    const local = this.#locals.get('mic');
    if (local?.producer && !local.producer.paused) {
      local.producer.pause();
      local.paused = true;
      await this.#conn.request({ type: 'media.pauseProducer', producerId: local.producer.id });
    }
    this.#setMic({ muted: true, locked: this.#mic.locked });
  }

  /** Unmutes the mic; rejects with FORBIDDEN while the organizer keeps it locked. */
  async unmuteMic(): Promise<void> {
    const local = this.#locals.get('mic');
    if (local?.producer) {
      // The server decides (a lock may have been lifted meanwhile): ask it first, then send again.
      await this.#conn.request({ type: 'media.resumeProducer', producerId: local.producer.id });
      local.producer.resume();
      local.paused = false;
    }
    this.#setMic({ muted: false, locked: false });
  }

  /** The organizer muted us: the server paused the producer already; stop sending too. */
  mutedByOrganizer(locked: boolean): void {
    const local = this.#locals.get('mic');
    if (local?.producer && !local.producer.paused) local.producer.pause();
    if (local) local.paused = true;
    this.#setMic({ muted: true, locked });
  }

  micUnlocked(): void {
    this.#setMic({ muted: this.#mic.muted, locked: false });
  }

  /** The organizer stopped our camera: the server closed its producer. */
  cameraStopped(): void {
    const local = this.#locals.get('camera');
    if (!local) return;
    this.#locals.delete('camera');
    this.#drop(local);
  }

  /** The transports are closed: the producers went with them, the tracks stay for `produceAll`. */
  forgetProducers(): void {
    for (const local of this.#locals.values()) {
      local.producer = undefined;
      local.producerId = undefined;
    }
  }

  /** Closes every producer and stops the tracks this session captured. Idempotent. */
  close(): void {
    for (const local of this.#locals.values()) this.#drop(local);
    this.#locals.clear();
  }

  async #produce(
    send: types.Transport,
    device: types.Device,
    local: Local,
    current: () => boolean,
  ): Promise<void> {
    const producer = await send.produce({
      track: local.track,
      // The session owns the tracks: a restart closes producers, never the capture.
      stopTracks: false,
      appData: { source: local.source },
      ...this.#producerOptions(device, local.source),
    });
    if (!current()) {
      producer.close();
      return;
    }
    local.producer = producer;
    local.producerId = producer.id;
    producer.on('trackended', () => {
      if (this.#locals.get(local.source) === local) {
        void this.unpublish(local.source).catch((err: unknown) => this.emit('error', err));
      }
    });
    if (local.paused) {
      producer.pause();
      await this.#conn.request({ type: 'media.pauseProducer', producerId: producer.id });
    }
  }

  #producerOptions(device: types.Device, source: MediaSource): Partial<types.ProducerOptions> {
    switch (source) {
      case 'mic':
        return { codecOptions: { opusStereo: false, opusDtx: true, opusFec: true } };
      case 'camera': {
        const codec = this.#videoCodec(device);
        return {
          encodings: this.#options.cameraEncodings ?? DEFAULT_CAMERA_ENCODINGS,
          codecOptions: { videoGoogleStartBitrate: 1000 },
          ...(codec ? { codec } : {}),
        };
      }
      case 'screen': {
        const codec = this.#videoCodec(device);
        return {
          encodings: [{ maxBitrate: 1_500_000, scalabilityMode: 'L1T3' }],
          codecOptions: { videoGoogleStartBitrate: 1000 },
          ...(codec ? { codec } : {}),
        };
      }
    }
  }

  #videoCodec(device: types.Device): types.RtpCodecCapability | undefined {
    const codecs = device.rtpCapabilities.codecs ?? [];
    const wanted = `video/${this.#options.videoCodec ?? 'VP8'}`.toLowerCase();
    return (
      codecs.find((c) => c.mimeType.toLowerCase() === wanted) ??
      codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8')
    );
  }

  #drop(local: Local): void {
    if (local.producer && !local.producer.closed) local.producer.close();
    if (local.owned) local.track.stop();
    this.emit('localTrackRemoved', publicLocal(local));
  }

  #setMic(state: MicState): void {
    if (state.muted === this.#mic.muted && state.locked === this.#mic.locked) return;
    this.#mic = state;
    this.emit('micState', { ...state });
  }
}

function publicLocal(l: Local): LocalTrack {
  return { source: l.source, track: l.track, producerId: l.producerId, paused: l.paused };
}
