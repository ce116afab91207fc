/**
 * The media test page: joins the meeting named in the URL (?token=&meetingId=[&guestCode=][&publish=0][&relay=1]),
 * publishes the microphone and camera, renders what the others send, and exposes `window.ucc` for tests.
 */
import { MediaSession, type RemoteTrack } from '../media/MediaSession.js';
import { MeetingConnection, RequestError } from '../media/MeetingConnection.js';
import type {
  ConsumerStats,
  ConsumerView,
  PageEvent,
  PageState,
  ProducerEncodings,
  TransportView,
  UccTestApi,
} from './testApi.js';

declare global {
  interface Window {
    ucc?: UccTestApi;
  }
}

const params = new URLSearchParams(location.search);
const statusEl = document.getElementById('status');
const localEl = document.getElementById('local');
const remoteEl = document.getElementById('remote');
const events: PageEvent[] = [];
let lastError: string | undefined;
let connection: MeetingConnection | undefined;
let session: MediaSession | undefined;
let stopCanvas: (() => void) | undefined;

function fail(err: unknown): void {
  lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  events.push({ type: 'error', message: lastError });
  render();
}

function state(): PageState {
  const self = connection?.self;
  return {
    connection: connection?.state ?? 'connecting',
    media: session?.state ?? 'idle',
    participantId: self?.participantId,
    isOrganizer: self?.isOrganizer ?? false,
    mic: session?.mic ?? { muted: false, locked: false },
    published: (session?.localTracks() ?? []).filter((l) => l.producerId).map((l) => l.source),
    error: lastError,
  };
}

function view(r: RemoteTrack): ConsumerView {
  return {
    consumerId: r.consumerId,
    participantId: r.participantId,
    source: r.source,
    kind: r.kind,
    producerPaused: r.producerPaused,
    spatialLayer: r.layers?.spatialLayer,
    temporalLayer: r.layers?.temporalLayer,
  };
}

function render(): void {
  if (!statusEl) return;
  const s = state();
  const lines = [
    `connection: ${s.connection}`,
    `media: ${s.media}`,
    `me: ${s.participantId ?? '-'}${s.isOrganizer ? ' (organizer)' : ''}`,
    `mic: ${s.mic.muted ? 'muted' : 'on'}${s.mic.locked ? ' (locked)' : ''}`,
    `receiving: ${session?.remoteTracks().length ?? 0} tracks`,
  ];
  if (s.error) lines.push(`error: ${s.error}`);
  statusEl.textContent = lines.join('\n');
}

/** Consumers whose layer follows their element, with the function that stops it. */
const followed = new Map<string, () => void>();

function tile(track: MediaStreamTrack, caption: string, id: string, muted: boolean): HTMLElement {
  const figure = document.createElement('figure');
  figure.id = id;
  const media = document.createElement(track.kind === 'video' ? 'video' : 'audio');
  media.autoplay = true;
  media.muted = muted;
  if (media instanceof HTMLVideoElement) media.playsInline = true;
  media.srcObject = new MediaStream([track]);
  media.play().catch(() => undefined);
  const label = document.createElement('figcaption');
  label.textContent = caption;
  figure.append(media, label);
  return figure;
}

async function consumerStats(r: RemoteTrack): Promise<ConsumerStats> {
  const result: ConsumerStats = {
    ...view(r),
    packetsReceived: 0,
    bytesReceived: 0,
    framesDecoded: 0,
    frameWidth: 0,
    frameHeight: 0,
  };
  const report = await session?.consumer(r.consumerId)?.getStats();
  report?.forEach((entry: Record<string, unknown>) => {
    if (entry.type !== 'inbound-rtp') return;
    result.packetsReceived += num(entry.packetsReceived);
    result.bytesReceived += num(entry.bytesReceived);
    result.framesDecoded += num(entry.framesDecoded);
    result.frameWidth = Math.max(result.frameWidth, num(entry.frameWidth));
    result.frameHeight = Math.max(result.frameHeight, num(entry.frameHeight));
  });
  return result;
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

async function producerEncodings(source: 'camera' | 'screen'): Promise<ProducerEncodings> {
  const producer = session?.producer(source);
  const sender = producer?.rtpSender;
  const encodings = (sender?.getParameters().encodings ?? []).map((e) => ({
    rid: e.rid,
    active: e.active ?? true,
    scaleResolutionDownBy: e.scaleResolutionDownBy,
  }));
  const outbound: ProducerEncodings['outbound'] = [];
  const report = await producer?.getStats();
  report?.forEach((entry: Record<string, unknown>) => {
    if (entry.type !== 'outbound-rtp') return;
    outbound.push({
      rid: typeof entry.rid === 'string' ? entry.rid : undefined,
      framesEncoded: num(entry.framesEncoded),
      frameWidth: num(entry.frameWidth),
      frameHeight: num(entry.frameHeight),
    });
  });
  return { producerId: producer?.id, encodings, outbound };
}

async function transportViews(): Promise<TransportView[]> {
  const views: TransportView[] = [];
  for (const transport of [session?.sendTransport, session?.recvTransport]) {
    if (!transport) continue;
    const entries = new Map<string, Record<string, unknown>>();
    (await transport.getStats()).forEach((entry: Record<string, unknown>) => {
      if (typeof entry.id === 'string') entries.set(entry.id, entry);
    });
    const dtls = [...entries.values()].find((e) => e.type === 'transport');
    const pairId =
      typeof dtls?.selectedCandidatePairId === 'string' ? dtls.selectedCandidatePairId : undefined;
    const pair =
      (pairId ? entries.get(pairId) : undefined) ??
      [...entries.values()].find(
        (e) => e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded',
      );
    const local = entries.get(str(pair?.localCandidateId) ?? '');
    const remote = entries.get(str(pair?.remoteCandidateId) ?? '');
    views.push({
      direction: transport.direction,
      connectionState: transport.connectionState,
      localCandidateType: str(local?.candidateType),
      remoteCandidateType: str(remote?.candidateType),
      protocol: str(local?.protocol),
      relayProtocol: str(local?.relayProtocol),
      dtlsState: str(dtls?.dtlsState),
      srtpCipher: str(dtls?.srtpCipher),
    });
  }
  return views;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A moving picture on a canvas, published as a screen share where getDisplayMedia is not available. */
function canvasTrack(): MediaStreamTrack {
  const canvas = document.createElement('canvas');
  canvas.width = 1280;
  canvas.height = 720;
  const ctx = canvas.getContext('2d');
  let frame = 0;
  const timer = setInterval(() => {
    if (!ctx) return;
    frame++;
    ctx.fillStyle = `hsl(${(frame * 5) % 360} 60% 30%)`;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#fff';
    ctx.font = '64px sans-serif';
    ctx.fillText(`screen ${frame}`, 80 + (frame % 400), 360);
  }, 66);
  const track = canvas.captureStream(15).getVideoTracks()[0];
  if (!track) throw new Error('canvas.captureStream gave no track');
  stopCanvas = () => {
    clearInterval(timer);
    track.stop();
  };
  return track;
}

function requireSession(): MediaSession {
  if (!session) throw new Error('Not in the meeting');
  return session;
}

function requireConnection(): MeetingConnection {
  if (!connection) throw new Error('Not connected');
  return connection;
}

window.ucc = {
  state,
  participants: () =>
    (connection?.participants ?? []).map((p) => ({
      participantId: p.participantId,
      displayName: p.displayName,
    })),
  consumers: () => (session?.remoteTracks() ?? []).map(view),
  stats: () => Promise.all((session?.remoteTracks() ?? []).map(consumerStats)),
  events: () => [...events],
  producerEncodings,
  transports: transportViews,
  restartIce: () => requireSession().restartIce(),
  startScreenShare: async (mode = 'display') => {
    const s = requireSession();
    const local = mode === 'canvas' ? await s.publishScreen(canvasTrack()) : await s.publishScreen();
    return { producerId: local.producerId };
  },
  stopScreenShare: async () => {
    await requireSession().unpublish('screen');
    stopCanvas?.();
    stopCanvas = undefined;
  },
  setPreferredLayers: (consumerId, spatialLayer, temporalLayer) =>
    requireSession().setPreferredLayers(consumerId, spatialLayer, temporalLayer),
  followDisplay: (consumerId, heightPx) => {
    const video = document.querySelector<HTMLVideoElement>(`#c-${consumerId} video`);
    if (!video) throw new Error(`no video for consumer ${consumerId}`);
    video.style.height = `${heightPx}px`;
    video.style.width = 'auto';
    if (!followed.has(consumerId))
      followed.set(consumerId, requireSession().followDisplay(consumerId, video));
  },
  muteMic: () => requireSession().muteMic(),
  unmuteMic: async () => {
    try {
      await requireSession().unmuteMic();
      return undefined;
    } catch (err) {
      if (err instanceof RequestError) return err.code;
      throw err;
    }
  },
  muteParticipant: async (participantId, lock) =>
    (await requireConnection().request({ type: 'media.muteParticipant', participantId, lock })).muted,
  unlockParticipant: async (participantId) => {
    await requireConnection().request({ type: 'media.unlockParticipant', participantId });
  },
  dropConnection: () => requireConnection().socket.io.engine.close(),
  leave: async () => {
    session?.close();
    await connection?.leave();
    render();
  },
};

async function main(): Promise<void> {
  const token = params.get('token');
  const meetingId = params.get('meetingId');
  if (!token || !meetingId) throw new Error('The page needs ?token=&meetingId=');
  const guestCode = params.get('guestCode') ?? undefined;

  connection = await MeetingConnection.connect({ token, meetingId });
  connection.on('state', render);
  connection.on('error', fail);
  await connection.join(meetingId, guestCode ? { guestCode } : {});

  const media = new MediaSession(
    connection,
    params.get('relay') === '1' ? { iceTransportPolicy: 'relay' } : {},
  );
  session = media;
  media.on('state', render);
  media.on('error', fail);
  media.on('micState', render);
  media.on('remoteTrackAdded', (r) => {
    remoteEl?.append(tile(r.track, `${r.participantId.slice(0, 8)} ${r.source}`, `c-${r.consumerId}`, false));
    render();
  });
  media.on('remoteTrackRemoved', (r) => {
    document.getElementById(`c-${r.consumerId}`)?.remove();
    render();
  });
  media.on('remoteTrackPaused', (r) =>
    events.push({ type: 'remotePaused', consumerId: r.consumerId, paused: r.producerPaused }),
  );
  media.on('layersChanged', (r) =>
    events.push({
      type: 'layersChanged',
      consumerId: r.consumerId,
      spatialLayer: r.layers?.spatialLayer ?? null,
      temporalLayer: r.layers?.temporalLayer ?? null,
    }),
  );
  media.on('localTrackAdded', (l) => {
    if (l.track.kind === 'video') localEl?.append(tile(l.track, l.source, `l-${l.source}`, true));
  });
  media.on('localTrackRemoved', (l) => document.getElementById(`l-${l.source}`)?.remove());
  media.on('mutedByOrganizer', ({ locked }) => events.push({ type: 'mutedByOrganizer', locked }));
  media.on('micUnlocked', () => events.push({ type: 'micUnlocked' }));
  media.on('cameraStoppedByOrganizer', () => events.push({ type: 'cameraStoppedByOrganizer' }));
  media.on('restarting', (reason) => events.push({ type: 'restarting', reason }));
  media.on('resumed', () => events.push({ type: 'resumed' }));
  media.on('iceRestarted', (direction) => events.push({ type: 'iceRestarted', direction }));
  media.on('activeSpeaker', (participantId) => events.push({ type: 'activeSpeaker', participantId }));

  await media.start();
  if (params.get('publish') !== '0') {
    await media.publishMic();
    await media.publishCamera();
  }
  render();
}

main().catch(fail);
