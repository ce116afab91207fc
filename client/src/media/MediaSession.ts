import { Device, type types } from 'mediasoup-client';
import type {
  ConsumerInfo,
  MediaSource,
  ServerToClientEvents,
  TransportInfo,
} from '../../../shared/protocol.js';
import { Emitter } from './Emitter.js';
import { RequestError, type MeetingConnection } from './MeetingConnection.js';

export type Direction = 'send' | 'recv';

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

export type SessionState = 'idle' | 'starting' | 'ready' | 'restarting' | 'closed';

export interface MediaSessionEvents extends Record<string, unknown[]> {
  state: [SessionState];
  remoteTrackAdded: [RemoteTrack];
  remoteTrackRemoved: [RemoteTrack];
  /** `producerPaused` of a remote track changed. */
  remoteTrackPaused: [RemoteTrack];
  layersChanged: [RemoteTrack];
  localTrackAdded: [LocalTrack];
  localTrackRemoved: [LocalTrack];
  micState: [MicState];
  mutedByOrganizer: [{ locked: boolean }];
  /** The organizer unlocked the mic: unmuting is allowed again. */
  micUnlocked: [];
  cameraStoppedByOrganizer: [];
  activeSpeaker: [string];
  transportState: [Direction, types.ConnectionState];
  iceRestarted: [Direction];
  /** The media is rebuilt from scratch: a worker was lost, or the server no longer had our transports. */
  restarting: [string];
  /** After a dropped socket, the same transports and producers carry on; only the consumers are new. */
  resumed: [];
  error: [unknown];
}

export interface MediaSessionOptions {
  /** 'relay' forces TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** The camera's simulcast layers, lowest first. */
  cameraEncodings?: types.RtpEncodingParameters[];
  /** The camera codec, when the router offers it; VP8 otherwise. */
  videoCodec?: 'VP8' | 'H264';
  /** How long a transport may stay `disconnected` before its ICE is restarted. */
  iceRestartDelayMs?: number;
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

interface Remote extends RemoteTrack {
  consumer: types.Consumer;
}

/**
 * The media of one participant in a joined meeting, over mediasoup-client: the device, one send and one receive
 * transport, the published tracks (mic, camera with simulcast, screen) and the received ones, by participant and
 * source. It restarts ICE when a transport fails and rebuilds everything when the server asks (`media.restart`)
 * or after the socket rejoined; published tracks are published again.
 */
export class MediaSession extends Emitter<MediaSessionEvents> {
  readonly #conn: MeetingConnection;
  readonly #options: MediaSessionOptions;
  #state: SessionState = 'idle';
  /** Bumped at each (re)start and at close: work begun for an older generation stops. */
  #generation = 0;
  #device: Device | undefined;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  readonly #locals = new Map<MediaSource, Local>();
  readonly #remotes = new Map<string, Remote>();
  readonly #iceTimers = new Map<Direction, ReturnType<typeof setTimeout>>();
  readonly #iceRestarting = new Set<Direction>();
  #mic: MicState = { muted: false, locked: false };
  readonly #unsubscribe: (() => void)[] = [];

  constructor(connection: MeetingConnection, options: MediaSessionOptions = {}) {
    super();
    this.#conn = connection;
    this.#options = options;
    this.#listen();
  }

  get state(): SessionState {
    return this.#state;
  }

  get device(): Device | undefined {
    return this.#device;
  }

  get sendTransport(): types.Transport | undefined {
    return this.#send;
  }

  get recvTransport(): types.Transport | undefined {
    return this.#recv;
  }

  get mic(): MicState {
    return { ...this.#mic };
  }

  /** Everything received, in arrival order. */
  remoteTracks(): RemoteTrack[] {
    return [...this.#remotes.values()].map(publicRemote);
  }

  /** What one participant sends, by source. */
  remoteTracksOf(participantId: string): RemoteTrack[] {
    return this.remoteTracks().filter((r) => r.participantId === participantId);
  }

  localTracks(): LocalTrack[] {
    return [...this.#locals.values()].map(publicLocal);
  }

  /** The producer of a published source, e.g. to read the camera's encodings. */
  producer(source: MediaSource): types.Producer | undefined {
    return this.#locals.get(source)?.producer;
  }

  consumer(consumerId: string): types.Consumer | undefined {
    return this.#remotes.get(consumerId)?.consumer;
  }

  /** Capabilities, transports, and consumers for what the others already publish. Call once joined. */
  async start(): Promise<void> {
    if (this.#state === 'closed') throw new Error('The media session is closed');
    try {
      await this.#start(++this.#generation);
    } catch (err) {
      // A restart or close overtook this start: the newer start carries on, or nothing is wanted any more.
      if (!(err instanceof StaleError)) throw err;
    }
  }

  async #start(generation: number): Promise<void> {
    this.#setState(this.#state === 'restarting' ? 'restarting' : 'starting');
    const { rtpCapabilities } = await this.#conn.request({ type: 'media.getRouterRtpCapabilities' });
    const device = new Device();
    await device.load({ routerRtpCapabilities: rtpCapabilities });
    this.#check(generation);
    this.#device = device;

    const [sendInfo, recvInfo] = await Promise.all([
      this.#conn.request({ type: 'media.createTransport', direction: 'send' }),
      this.#conn.request({ type: 'media.createTransport', direction: 'recv' }),
    ]);
    this.#check(generation);
    this.#send = this.#createTransport('send', sendInfo, generation);
    this.#recv = this.#createTransport('recv', recvInfo, generation);

    await this.#receiveAll(device, generation);

    // After a restart: publish again what was published before.
    for (const local of this.#locals.values()) {
      await this.#produce(local, generation);
    }
    this.#check(generation);
    this.#setState('ready');
  }

  /** Publishes the microphone (captured here, from `deviceId` when given, unless a track is given). */
  async publishMic(track?: MediaStreamTrack, deviceId?: string): Promise<LocalTrack> {
    const owned = !track;
    const audio =
      track ??
      firstTrack(
        await navigator.mediaDevices.getUserMedia({
          audio: {
            echoCancellation: true,
            noiseSuppression: true,
            autoGainControl: true,
            // `ideal`, not `exact`: a device unplugged since it was chosen falls back to the default one.
            ...(deviceId ? { deviceId: { ideal: deviceId } } : {}),
          },
        }),
      );
    return this.#publish('mic', audio, owned);
  }

  /** Publishes the camera with simulcast (captured here, from `deviceId` when given, unless a track is given). */
  async publishCamera(track?: MediaStreamTrack, deviceId?: string): Promise<LocalTrack> {
    const owned = !track;
    const video =
      track ??
      firstTrack(
        await navigator.mediaDevices.getUserMedia({
          video: {
            width: { ideal: 1280 },
            height: { ideal: 720 },
            frameRate: { ideal: 30 },
            ...(deviceId ? { deviceId: { ideal: deviceId } } : {}),
          },
        }),
      );
    return this.#publish('camera', video, owned);
  }

  /** Shares the screen (asks the browser unless a track is given); stops by itself when the share ends. */
  async publishScreen(track?: MediaStreamTrack): Promise<LocalTrack> {
    const owned = !track;
    const video =
      track ??
      firstTrack(await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } } }));
    if ('contentHint' in video) video.contentHint = 'detail';
    return this.#publish('screen', video, owned);
  }

  /** Stops publishing a source and tells the server. */
  async unpublish(source: MediaSource): Promise<void> {
    const local = this.#locals.get(source);
    if (!local) return;
    this.#locals.delete(source);
    const producerId = local.producer?.id;
    this.#dropLocal(local);
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
      this.setPreferredLayers(consumerId, layer).catch((err: unknown) => this.#report(err));
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

  /** Restarts ICE on both transports now (e.g. after the network changed). */
  async restartIce(): Promise<void> {
    const restarts: Promise<void>[] = [];
    if (this.#send) restarts.push(this.#restartIce('send', this.#send));
    if (this.#recv) restarts.push(this.#restartIce('recv', this.#recv));
    await Promise.all(restarts);
  }

  /** The transports' WebRTC statistics. */
  async getStats(): Promise<{ send: RTCStatsReport | undefined; recv: RTCStatsReport | undefined }> {
    const [send, recv] = await Promise.all([this.#send?.getStats(), this.#recv?.getStats()]);
    return { send, recv };
  }

  /** Closes the transports and stops the tracks this session captured. The connection stays open. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#generation++;
    this.#teardown();
    for (const local of this.#locals.values()) this.#dropLocal(local);
    this.#locals.clear();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#setState('closed');
    this.removeAllListeners();
  }

  // --- internals ---

  #listen(): void {
    // socket.io's typed `on` cannot take a generic event name; each listener is typed by the map.
    const socket = this.#conn.socket as unknown as {
      on: (event: string, listener: (...args: never[]) => void) => void;
      off: (event: string, listener: (...args: never[]) => void) => void;
    };
    const on = <E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): void => {
      socket.on(event, listener);
      this.#unsubscribe.push(() => socket.off(event, listener));
    };
    on('media.newConsumer', (info) => {
      if (!this.#recv) return;
      this.#consume(info, this.#generation).catch((err: unknown) => this.#report(err));
    });
    on('media.consumerClosed', ({ consumerId }) => this.#dropRemote(consumerId));
    on('media.consumerPaused', ({ consumerId, paused }) => {
      const remote = this.#remotes.get(consumerId);
      if (!remote) return;
      remote.producerPaused = paused;
      this.emit('remoteTrackPaused', publicRemote(remote));
    });
    on('media.layersChanged', ({ consumerId, spatialLayer, temporalLayer }) => {
      const remote = this.#remotes.get(consumerId);
      if (!remote) return;
      remote.layers = { spatialLayer, temporalLayer };
      this.emit('layersChanged', publicRemote(remote));
    });
    on('media.activeSpeaker', ({ participantId }) => this.emit('activeSpeaker', participantId));
    on('media.mutedByOrganizer', ({ locked }) => {
      // The server has paused the producer already; stop sending too.
      const local = this.#locals.get('mic');
      if (local?.producer && !local.producer.paused) local.producer.pause();
      if (local) local.paused = true;
      this.#setMic({ muted: true, locked });
      this.emit('mutedByOrganizer', { locked });
    });
    on('media.micUnlocked', () => {
      this.#setMic({ muted: this.#mic.muted, locked: false });
      this.emit('micUnlocked');
    });
    on('media.cameraStoppedByOrganizer', () => {
      const local = this.#locals.get('camera');
      if (local) {
        this.#locals.delete('camera');
        this.#dropLocal(local);
      }
      this.emit('cameraStoppedByOrganizer');
    });
    on('media.restart', ({ reason }) => this.#restart(reason));
    this.#unsubscribe.push(
      this.#conn.on('joined', (_info, { rejoin }) => {
        if (rejoin && this.#state !== 'idle') this.#resume();
      }),
    );
  }

  #createTransport(direction: Direction, info: TransportInfo, generation: number): types.Transport {
    const device = this.#device;
    if (!device) throw new Error('The device is not loaded');
    const options: types.TransportOptions = {
      id: info.id,
      iceParameters: info.iceParameters as types.IceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
      iceServers: info.iceServers,
      ...(this.#options.iceTransportPolicy ? { iceTransportPolicy: this.#options.iceTransportPolicy } : {}),
    };
    const transport =
      direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);

    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#conn
        .request({
          type: 'media.connectTransport',
          transportId: transport.id,
          dtlsParameters,
        })
        .then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        this.#conn
          .request({
            type: 'media.produce',
            transportId: transport.id,
            kind,
            rtpParameters,
            source: appData.source as MediaSource,
          })
          .then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    transport.on('connectionstatechange', (state) => {
      if (generation !== this.#generation) return;
      this.emit('transportState', direction, state);
      this.#watchIce(direction, transport, state);
    });
    return transport;
  }

  /** `failed`: restart ICE now; `disconnected` for a while: restart it too; `connected`: all is well. */
  #watchIce(direction: Direction, transport: types.Transport, state: types.ConnectionState): void {
    const timer = this.#iceTimers.get(direction);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#iceTimers.delete(direction);
    }
    if (state === 'failed') {
      void this.#restartIce(direction, transport);
    } else if (state === 'disconnected') {
      this.#iceTimers.set(
        direction,
        setTimeout(() => {
          this.#iceTimers.delete(direction);
          if (transport.connectionState === 'disconnected' || transport.connectionState === 'failed') {
            void this.#restartIce(direction, transport);
          }
        }, this.#options.iceRestartDelayMs ?? 2_000),
      );
    }
  }

  async #restartIce(direction: Direction, transport: types.Transport): Promise<void> {
    if (this.#iceRestarting.has(direction) || transport.closed || this.#conn.state !== 'joined') return;
    this.#iceRestarting.add(direction);
    try {
      const { iceParameters } = await this.#conn.request({
        type: 'media.restartIce',
        transportId: transport.id,
      });
      if (transport.closed) return;
      await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
      this.emit('iceRestarted', direction);
    } catch (err) {
      // The server no longer knows the transport: only a full rebuild helps.
      if (err instanceof RequestError && err.code === 'NOT_FOUND') this.#restart('transport lost');
      else this.#report(err);
    } finally {
      this.#iceRestarting.delete(direction);
    }
  }

  async #consume(info: ConsumerInfo, generation: number): Promise<void> {
    const recv = this.#recv;
    if (!recv || this.#remotes.has(info.id)) return;
    const consumer = await recv.consume({
      id: info.id,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters as types.RtpParameters,
      appData: { participantId: info.participantId, source: info.source },
    });
    if (generation !== this.#generation) {
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
    consumer.on('transportclose', () => this.#dropRemote(info.id));
    this.emit('remoteTrackAdded', publicRemote(remote));
    // The track is wired: let the media flow (the server starts every consumer paused).
    await this.#conn.request({ type: 'media.resumeConsumer', consumerId: info.id });
  }

  #dropRemote(consumerId: string): void {
    const remote = this.#remotes.get(consumerId);
    if (!remote) return;
    this.#remotes.delete(consumerId);
    if (!remote.consumer.closed) remote.consumer.close();
    this.emit('remoteTrackRemoved', publicRemote(remote));
  }

  async #publish(source: MediaSource, track: MediaStreamTrack, owned: boolean): Promise<LocalTrack> {
    if (this.#state !== 'ready') throw new Error('Start the media session before publishing');
    if (this.#locals.has(source)) await this.unpublish(source);
    const local: Local = { source, track, producerId: undefined, paused: false, producer: undefined, owned };
    if (source === 'mic' && this.#mic.muted) local.paused = true;
    this.#locals.set(source, local);
    try {
      await this.#produce(local, this.#generation);
    } catch (err) {
      this.#locals.delete(source);
      if (owned) track.stop();
      throw err;
    }
    this.emit('localTrackAdded', publicLocal(local));
    return publicLocal(local);
  }

  async #produce(local: Local, generation: number): Promise<void> {
    const send = this.#send;
    if (!send) throw new Error('No send transport');
    const producer = await send.produce({
      track: local.track,
      // The session owns the tracks: a restart closes producers, never the capture.
      stopTracks: false,
      appData: { source: local.source },
      ...this.#producerOptions(local.source),
    });
    if (generation !== this.#generation) {
      producer.close();
      return;
    }
    local.producer = producer;
    local.producerId = producer.id;
    producer.on('trackended', () => {
      if (this.#locals.get(local.source) === local) {
        void this.unpublish(local.source).catch((err: unknown) => this.#report(err));
      }
    });
    if (local.paused) {
      producer.pause();
      await this.#conn.request({ type: 'media.pauseProducer', producerId: producer.id });
    }
  }

  #producerOptions(source: MediaSource): Partial<types.ProducerOptions> {
    switch (source) {
      case 'mic':
        return { codecOptions: { opusStereo: false, opusDtx: true, opusFec: true } };
      case 'camera': {
        const codec = this.#videoCodec();
        return {
          encodings: this.#options.cameraEncodings ?? DEFAULT_CAMERA_ENCODINGS,
          codecOptions: { videoGoogleStartBitrate: 1000 },
          ...(codec ? { codec } : {}),
        };
      }
      case 'screen': {
        const codec = this.#videoCodec();
        return {
          encodings: [{ maxBitrate: 1_500_000, scalabilityMode: 'L1T3' }],
          codecOptions: { videoGoogleStartBitrate: 1000 },
          ...(codec ? { codec } : {}),
        };
      }
    }
  }

  #videoCodec(): types.RtpCodecCapability | undefined {
    const codecs = this.#device?.rtpCapabilities.codecs ?? [];
    const wanted = `video/${this.#options.videoCodec ?? 'VP8'}`.toLowerCase();
    return (
      codecs.find((c) => c.mimeType.toLowerCase() === wanted) ??
      codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8')
    );
  }

  #dropLocal(local: Local): void {
    if (local.producer && !local.producer.closed) local.producer.close();
    if (local.owned) local.track.stop();
    this.emit('localTrackRemoved', publicLocal(local));
  }

  /** Closes the transports (and so every producer and consumer) but keeps the published tracks. */
  #teardown(): void {
    for (const timer of this.#iceTimers.values()) clearTimeout(timer);
    this.#iceTimers.clear();
    for (const id of [...this.#remotes.keys()]) this.#dropRemote(id);
    // The server may still hold them (a rebuild after a rejoin): free them there too, or the rebuild would meet
    // the per-participant caps (transports, one producer per source). An error means they are gone already.
    for (const transport of [this.#send, this.#recv]) {
      if (!transport || transport.closed) continue;
      this.#conn.request({ type: 'media.closeTransport', transportId: transport.id }).catch(() => undefined);
    }
    this.#send?.close();
    this.#recv?.close();
    this.#send = undefined;
    this.#recv = undefined;
    for (const local of this.#locals.values()) {
      local.producer = undefined;
      local.producerId = undefined;
    }
  }

  /**
   * The socket dropped and we rejoined within the grace window: the server kept our transports and producers,
   * so the media we send never stopped. Check that the transports are still there (an ICE restart each), then
   * ask for the consumers again. If the server no longer has them, rebuild everything.
   */
  #resume(): void {
    const send = this.#send;
    const recv = this.#recv;
    const device = this.#device;
    if (this.#state !== 'ready' || !send || !recv || !device) {
      this.#restart('reconnected');
      return;
    }
    const generation = this.#generation;
    const run = async (): Promise<void> => {
      for (const transport of [send, recv]) {
        const { iceParameters } = await this.#conn.request({
          type: 'media.restartIce',
          transportId: transport.id,
        });
        this.#check(generation);
        await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
      }
      for (const consumerId of [...this.#remotes.keys()]) this.#dropRemote(consumerId);
      await this.#receiveAll(device, generation);
      this.emit('resumed');
    };
    run().catch((err: unknown) => {
      if (err instanceof StaleError) return;
      this.#restart('reconnected');
    });
  }

  /** Tells the server we can receive, and consumes everything already in the meeting. */
  async #receiveAll(device: Device, generation: number): Promise<void> {
    const { consumers, activeSpeaker } = await this.#conn.request({
      type: 'media.ready',
      rtpCapabilities: device.rtpCapabilities,
    });
    this.#check(generation);
    if (activeSpeaker) this.emit('activeSpeaker', activeSpeaker);
    await Promise.all(consumers.map((info) => this.#consume(info, generation)));
  }

  #restart(reason: string): void {
    if (this.#state === 'closed' || this.#state === 'idle') return;
    this.#generation++;
    this.#teardown();
    this.#setState('restarting');
    this.emit('restarting', reason);
    this.start().catch((err: unknown) => this.#report(err));
  }

  #check(generation: number): void {
    if (generation !== this.#generation) throw new StaleError();
  }

  #setMic(state: MicState): void {
    if (state.muted === this.#mic.muted && state.locked === this.#mic.locked) return;
    this.#mic = state;
    this.emit('micState', { ...state });
  }

  #setState(state: SessionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #report(err: unknown): void {
    this.emit('error', err);
  }
}

/** Work begun before a restart or close, abandoned. */
class StaleError extends Error {
  constructor() {
    super('The media session was restarted or closed');
    this.name = 'StaleError';
  }
}

function firstTrack(stream: MediaStream): MediaStreamTrack {
  const track = stream.getTracks()[0];
  if (!track) throw new Error('The capture gave no track');
  return track;
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

function publicLocal(l: Local): LocalTrack {
  return { source: l.source, track: l.track, producerId: l.producerId, paused: l.paused };
}

/** The simulcast layer (0: 180p, 1: 360p, 2: 720p) whose height covers a tile of `height` device pixels. */
export function layerForHeight(height: number): number {
  if (height <= 200) return 0;
  if (height <= 400) return 1;
  return 2;
}
