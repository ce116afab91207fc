import type { types } from 'mediasoup-client';
import type { ConsumerInfo, MediaSource } from '../../../shared/protocol.js';
import { Emitter } from './Emitter.js';
import type { MeetingConnection } from './MeetingConnection.js';

/** A track another participant sends, as this browser receives it. */
export interface RemoteTrack {
  consumerId: string;
  producerId: string;
  participantId: string;
  source: MediaSource;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  /** The sender paused it (a muted mic, a paused camera): no media flows. */
  producerPaused: boolean;
  /** The simulcast layers the server forwards now, as last told; null when it forwards none. */
  layers: { spatialLayer: number | null; temporalLayer: number | null } | undefined;
}

export interface SubscriberEvents extends Record<string, unknown[]> {
  remoteTrackAdded: [RemoteTrack];
  remoteTrackRemoved: [RemoteTrack];
  /** `producerPaused` of a remote track changed. */
  remoteTrackPaused: [RemoteTrack];
  layersChanged: [RemoteTrack];
  error: [unknown];
}

interface Remote extends RemoteTrack {
  consumer: types.Consumer;
}

/**
 * What this browser receives: one consumer per remote track on the receive transport, resumed once its track
 * exists (the server starts each paused), and the simulcast layer each video should get for its size.
 */
export class Subscriber extends Emitter<SubscriberEvents> {
  readonly #conn: MeetingConnection;
  readonly #remotes = new Map<string, Remote>();

  constructor(connection: MeetingConnection) {
    super();
    this.#conn = connection;
  }

  /** Everything received, in arrival order. */
  remoteTracks(): RemoteTrack[] {
    return [...this.#remotes.values()].map(publicRemote);
  }

  consumer(consumerId: string): types.Consumer | undefined {
    return this.#remotes.get(consumerId)?.consumer;
  }

  /** Consumes one remote track; `current` says, once the consumer exists, whether the session still wants it. */
  async consume(recv: types.Transport, info: ConsumerInfo, current: () => boolean): Promise<void> {
    if (this.#remotes.has(info.id)) return;
    const consumer = await recv.consume({
      id: info.id,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters,
      appData: { participantId: info.participantId, source: info.source },
    });
    if (!current()) {
      consumer.close();
      return;
    }
    const remote: Remote = {
      consumerId: info.id,
      producerId: info.producerId,
      participantId: info.participantId,
      source: info.source,
      kind: info.kind,
      track: consumer.track,
      producerPaused: info.producerPaused,
      layers: undefined,
      consumer,
    };
    this.#remotes.set(info.id, remote);
    consumer.on('transportclose', () => this.drop(info.id));
    this.emit('remoteTrackAdded', publicRemote(remote));
    // The track is wired: let the media flow (the server starts every consumer paused).
    await this.#conn.request({ type: 'media.resumeConsumer', consumerId: info.id });
  }

  drop(consumerId: string): void {
    const remote = this.#remotes.get(consumerId);
    if (!remote) return;
    this.#remotes.delete(consumerId);
    if (!remote.consumer.closed) remote.consumer.close();
    this.emit('remoteTrackRemoved', publicRemote(remote));
  }

  dropAll(): void {
    for (const id of [...this.#remotes.keys()]) this.drop(id);
  }

  /** The server's `media.consumerPaused`: the sender paused or resumed. */
  producerPaused(consumerId: string, paused: boolean): void {
    const remote = this.#remotes.get(consumerId);
    if (!remote) return;
    remote.producerPaused = paused;
    this.emit('remoteTrackPaused', publicRemote(remote));
  }

  /** The server's `media.layersChanged`. */
  layersChanged(consumerId: string, spatialLayer: number | null, temporalLayer: number | null): void {
    const remote = this.#remotes.get(consumerId);
    if (!remote) return;
    remote.layers = { spatialLayer, temporalLayer };
    this.emit('layersChanged', publicRemote(remote));
  }

  /**
   * Keeps a remote video's simulcast layer matched to how it is shown: the layer whose height fits the element
   * (180p, 360p, 720p), and the lowest one while the tab is hidden or the element is scrolled out of view.
   * Returns a function that stops following.
   */
  followDisplay(consumerId: string, element: HTMLElement): () => void {
    let last: number | undefined;
    let onScreen = true;
    const apply = (): void => {
      const height = element.getBoundingClientRect().height * (window.devicePixelRatio || 1);
      const layer = document.hidden || !onScreen ? 0 : layerForHeight(height);
      if (layer === last) return;
      last = layer;
      this.setPreferredLayers(consumerId, layer).catch((err: unknown) => this.emit('error', err));
    };
    const resize = new ResizeObserver(apply);
    resize.observe(element);
    const seen = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      if (entry) onScreen = entry.isIntersecting;
      apply();
    });
    seen.observe(element);
    document.addEventListener('visibilitychange', apply);
    apply();
    return () => {
      resize.disconnect();
      seen.disconnect();
      document.removeEventListener('visibilitychange', apply);
    };
  }

  /** Asks the server for a simulcast layer of a remote video (e.g. a low one for a small tile). */
  async setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    await this.#conn.request({
      type: 'media.setPreferredLayers',
      consumerId,
      spatialLayer,
      ...(temporalLayer === undefined ? {} : { temporalLayer }),
    });
  }
}

function publicRemote(r: Remote): RemoteTrack {
  return {
    consumerId: r.consumerId,
    producerId: r.producerId,
    participantId: r.participantId,
    source: r.source,
    kind: r.kind,
    track: r.track,
    producerPaused: r.producerPaused,
    layers: r.layers,
  };
}

/** The simulcast layer (0: 180p, 1: 360p, 2: 720p) whose height covers a tile of `height` device pixels. */
export function layerForHeight(height: number): number {
  if (height <= 200) return 0;
  if (height <= 400) return 1;
  return 2;
}
