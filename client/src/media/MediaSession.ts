import { Device, type types } from 'mediasoup-client';
import { backoffDelayMs, type Backoff } from '../../../shared/backoff.js';
import type { MediaSource, ServerToClientEvents, TransportInfo } from '../../../shared/protocol.js';
import { Emitter } from './Emitter.js';
import { IceWatchdog, type Direction } from './IceWatchdog.js';
import { RequestError, type MeetingConnection } from './MeetingConnection.js';
import { DEFAULT_CAMERA_ENCODINGS, Publisher, type LocalTrack, type MicState } from './Publisher.js';
import { layerForHeight, Subscriber, type RemoteTrack } from './Subscriber.js';

export type { Direction, LocalTrack, MicState, RemoteTrack };
export { DEFAULT_CAMERA_ENCODINGS, layerForHeight };

export type SessionState = 'idle' | 'starting' | 'ready' | 'restarting' | 'closed';

/** After `media.restart` the server may still be restoring the meeting's media: it is asked again this often. */
const RESTART_ATTEMPTS = 8;
const RESTART_BACKOFF: Backoff = { firstMs: 250, maxMs: 4_000 };

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

/**
 * The media of one participant in a joined meeting, over mediasoup-client: the device and one send and one
 * receive transport, with a `Publisher` (what we send), a `Subscriber` (what we receive) and an `IceWatchdog`
 * (ICE restarts). This class owns their life: start, the rebuild when the server asks (`media.restart`) or the
 * transports are lost, the resume after a rejoin, and close. Their events reach the UI as its own.
 */
export class MediaSession extends Emitter<MediaSessionEvents> {
  readonly #conn: MeetingConnection;
  readonly #options: MediaSessionOptions;
  readonly #publisher: Publisher;
  readonly #subscriber: Subscriber;
  readonly #watchdog: IceWatchdog;
  #state: SessionState = 'idle';
  /** Bumped at each (re)start and at close: work begun for an older generation stops. */
  #generation = 0;
  #device: Device | undefined;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(connection: MeetingConnection, options: MediaSessionOptions = {}) {
    super();
    this.#conn = connection;
    this.#options = options;
    this.#publisher = new Publisher(connection, {
      ...(options.cameraEncodings ? { cameraEncodings: options.cameraEncodings } : {}),
      ...(options.videoCodec ? { videoCodec: options.videoCodec } : {}),
    });
    this.#subscriber = new Subscriber(connection);
    this.#watchdog = new IceWatchdog(connection, options.iceRestartDelayMs);
    this.#forwardChildEvents();
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
    return this.#publisher.mic;
  }

  /** Everything received, in arrival order. */
  remoteTracks(): RemoteTrack[] {
    return this.#subscriber.remoteTracks();
  }

  /** What one participant sends, by source. */
  remoteTracksOf(participantId: string): RemoteTrack[] {
    return this.remoteTracks().filter((r) => r.participantId === participantId);
  }

  localTracks(): LocalTrack[] {
    return this.#publisher.localTracks();
  }

  /** The producer of a published source, e.g. to read the camera's encodings. */
  producer(source: MediaSource): types.Producer | undefined {
    return this.#publisher.producer(source);
  }

  consumer(consumerId: string): types.Consumer | undefined {
    return this.#subscriber.consumer(consumerId);
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
    const send = this.#createTransport('send', sendInfo, generation);
    this.#send = send;
    this.#recv = this.#createTransport('recv', recvInfo, generation);

    await this.#receiveAll(device, generation);
    // After a restart: publish again what was published before.
    await this.#publisher.produceAll(send, device, () => generation === this.#generation);
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
  unpublish(source: MediaSource): Promise<void> {
    return this.#publisher.unpublish(source);
  }

  muteMic(): Promise<void> {
    return this.#publisher.muteMic();
  }

  /** Unmutes the mic; rejects with FORBIDDEN while the organizer keeps it locked. */
  unmuteMic(): Promise<void> {
    return this.#publisher.unmuteMic();
  }

  /** See `Subscriber.followDisplay`: a remote video's layer follows its element's size and visibility. */
  followDisplay(consumerId: string, element: HTMLElement): () => void {
    return this.#subscriber.followDisplay(consumerId, element);
  }

  /** Asks the server for a simulcast layer of a remote video (e.g. a low one for a small tile). */
  setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    return this.#subscriber.setPreferredLayers(consumerId, spatialLayer, temporalLayer);
  }

  /** Restarts ICE on both transports now (e.g. after the network changed). */
  async restartIce(): Promise<void> {
    const restarts: Promise<void>[] = [];
    if (this.#send) restarts.push(this.#watchdog.restart('send', this.#send));
    if (this.#recv) restarts.push(this.#watchdog.restart('recv', this.#recv));
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
    this.#publisher.close();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#setState('closed');
    this.removeAllListeners();
  }

  // --- internals ---

  async #publish(source: MediaSource, track: MediaStreamTrack, owned: boolean): Promise<LocalTrack> {
    const send = this.#send;
    const device = this.#device;
    if (this.#state !== 'ready' || !send || !device) {
      if (owned) track.stop();
      throw new Error('Start the media session before publishing');
    }
    const generation = this.#generation;
    return this.#publisher.publish(send, device, source, track, owned, () => generation === this.#generation);
  }

  #forwardChildEvents(): void {
    const p = this.#publisher;
    p.on('localTrackAdded', (l) => this.emit('localTrackAdded', l));
    p.on('localTrackRemoved', (l) => this.emit('localTrackRemoved', l));
    p.on('micState', (m) => this.emit('micState', m));
    p.on('error', (err) => this.#report(err));
    const s = this.#subscriber;
    s.on('remoteTrackAdded', (r) => this.emit('remoteTrackAdded', r));
    s.on('remoteTrackRemoved', (r) => this.emit('remoteTrackRemoved', r));
    s.on('remoteTrackPaused', (r) => this.emit('remoteTrackPaused', r));
    s.on('layersChanged', (r) => this.emit('layersChanged', r));
    s.on('error', (err) => this.#report(err));
    const w = this.#watchdog;
    w.on('iceRestarted', (direction) => this.emit('iceRestarted', direction));
    w.on('transportLost', () => this.#restart('transport lost'));
    w.on('error', (err) => this.#report(err));
  }

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
      const recv = this.#recv;
      if (!recv) return;
      const generation = this.#generation;
      this.#subscriber
        .consume(recv, info, () => generation === this.#generation)
        .catch((err: unknown) => this.#report(err));
    });
    on('media.consumerClosed', ({ consumerId }) => this.#subscriber.drop(consumerId));
    on('media.consumerPaused', ({ consumerId, paused }) =>
      this.#subscriber.producerPaused(consumerId, paused),
    );
    on('media.layersChanged', ({ consumerId, spatialLayer, temporalLayer }) =>
      this.#subscriber.layersChanged(consumerId, spatialLayer, temporalLayer),
    );
    on('media.activeSpeaker', ({ participantId }) => this.emit('activeSpeaker', participantId));
    on('media.mutedByOrganizer', ({ locked }) => {
      this.#publisher.mutedByOrganizer(locked);
      this.emit('mutedByOrganizer', { locked });
    });
    on('media.micUnlocked', () => {
      this.#publisher.micUnlocked();
      this.emit('micUnlocked');
    });
    on('media.cameraStoppedByOrganizer', () => {
      this.#publisher.cameraStopped();
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
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates,
      dtlsParameters: info.dtlsParameters,
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
      this.#watchdog.watch(direction, transport, state);
    });
    return transport;
  }

  /** Closes the transports (and so every producer and consumer) but keeps the published tracks. */
  #teardown(): void {
    this.#watchdog.clear();
    this.#subscriber.dropAll();
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
    this.#publisher.forgetProducers();
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
        await transport.restartIce({ iceParameters });
      }
      this.#subscriber.dropAll();
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
    const recv = this.#recv;
    if (!recv) throw new Error('No receive transport');
    const { consumers, activeSpeaker } = await this.#conn.request({
      type: 'media.ready',
      rtpCapabilities: device.rtpCapabilities,
    });
    this.#check(generation);
    if (activeSpeaker) this.emit('activeSpeaker', activeSpeaker);
    const current = (): boolean => generation === this.#generation;
    await Promise.all(consumers.map((info) => this.#subscriber.consume(recv, info, current)));
  }

  #restart(reason: string): void {
    if (this.#state === 'closed' || this.#state === 'idle') return;
    this.#generation++;
    this.#teardown();
    this.#setState('restarting');
    this.emit('restarting', reason);
    void this.#startAgain();
  }

  /**
   * The start after a restart. The server answers SERVICE_UNAVAILABLE while the meeting's media is still being
   * restored (every worker died at once, say): asked again with backoff, unless a newer restart or a close took over.
   */
  async #startAgain(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.start();
        return;
      } catch (err) {
        const generation = this.#generation;
        const unavailable = err instanceof RequestError && err.code === 'SERVICE_UNAVAILABLE';
        if (!unavailable || attempt >= RESTART_ATTEMPTS || this.#isClosed()) {
          this.#report(err);
          return;
        }
        this.#teardown();
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(RESTART_BACKOFF, attempt - 1)));
        if (generation !== this.#generation || this.#isClosed()) return;
      }
    }
  }

  /** A method, not `this.#state` inline: the compiler would keep its narrowing across the awaits above. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #check(generation: number): void {
    if (generation !== this.#generation) throw new StaleError();
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
