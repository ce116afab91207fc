import { useEffect, useRef, useState } from 'react';
import type { ParticipantView } from '../../../shared/protocol.js';
import { MediaSession, type RemoteTrack } from '../media/MediaSession.js';
import { MeetingConnection, RequestError } from '../media/MeetingConnection.js';
import { useI18n, type MessageKey } from './i18n.js';

type Phase =
  | { kind: 'connecting' }
  | { kind: 'waiting' }
  | { kind: 'joined' }
  | { kind: 'out'; title: MessageKey; hint?: MessageKey };

/** Maps a refusal to the page that explains it. */
export function outcomeOf(code: string | undefined): { title: MessageKey; hint: MessageKey } {
  switch (code) {
    case 'MEETING_EXPIRED':
      return { title: 'linkExpired', hint: 'linkExpiredHint' };
    case 'MEETING_ENDED':
    case 'ended':
      return { title: 'linkEnded', hint: 'linkEndedHint' };
    case 'MEETING_CANCELLED':
      return { title: 'linkCancelled', hint: 'linkCancelledHint' };
    case 'REMOVED_FROM_MEETING':
    case 'removed':
      return { title: 'removedTitle', hint: 'removedHint' };
    case 'MEETING_NOT_FOUND':
      return { title: 'linkInvalid', hint: 'linkInvalidHint' };
    case undefined:
    default:
      return { title: 'linkInvalid', hint: 'genericError' };
  }
}

/** Connects, waits for the organizer ("In attesa dell'organizzatore…") and shows the room once admitted. */
export function MeetingJoin(props: {
  token: string | (() => Promise<string>);
  meetingId: string;
  title: string;
  exitLabel?: string;
  onExit?: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });
  const [connection, setConnection] = useState<MeetingConnection | undefined>();
  const { token, meetingId } = props;

  useEffect(() => {
    let conn: MeetingConnection | undefined;
    let cancelled = false;
    void (async () => {
      try {
        conn = await MeetingConnection.connect({ token });
        if (cancelled) {
          conn.close();
          return;
        }
        setConnection(conn);
        conn.on('state', (s) => {
          if (s === 'waiting') setPhase({ kind: 'waiting' });
        });
        conn.on('removed', (reason) => {
          setPhase({ kind: 'out', ...outcomeOf(reason) });
        });
        await conn.join(meetingId);
        if (!cancelled) setPhase({ kind: 'joined' });
      } catch (err) {
        if (cancelled) return;
        const code = err instanceof RequestError ? err.code : undefined;
        setPhase((p) => (p.kind === 'out' ? p : { kind: 'out', ...outcomeOf(code) }));
      }
    })();
    return () => {
      cancelled = true;
      if (conn) {
        const c = conn;
        void c.leave().finally(() => c.close());
      }
    };
  }, [token, meetingId]);

  if (phase.kind === 'joined' && connection)
    return (
      <Room
        connection={connection}
        title={props.title}
        onLeave={() => {
          void connection.leave();
          setPhase({ kind: 'out', title: 'leftTitle' });
        }}
      />
    );

  return (
    <main className="centered">
      <section className="card status-card" aria-live="polite">
        <h2>{props.title}</h2>
        {phase.kind === 'connecting' && <p role="status">{t('connecting')}</p>}
        {phase.kind === 'waiting' && (
          <>
            <span className="spinner large" aria-hidden="true" />
            <p role="status" className="waiting">
              {t('waiting')}
            </p>
            <p className="muted">{t('waitingHint')}</p>
          </>
        )}
        {phase.kind === 'out' && (
          <>
            <h3 className="outcome">{t(phase.title)}</h3>
            {phase.hint && <p className="muted">{t(phase.hint)}</p>}
          </>
        )}
        {props.onExit && phase.kind !== 'joined' && (
          <button onClick={props.onExit}>{props.exitLabel ?? t('close')}</button>
        )}
      </section>
    </main>
  );
}

interface Tile {
  participantId: string;
  name: string;
  video?: MediaStreamTrack;
  audio?: MediaStreamTrack;
  self: boolean;
}

/** The minimal room: a video grid fed by MediaSession, mic toggle and leave. */
function Room(props: {
  connection: MeetingConnection;
  title: string;
  onLeave: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const { connection } = props;
  const [session, setSession] = useState<MediaSession | undefined>();
  const [remote, setRemote] = useState<RemoteTrack[]>([]);
  const [local, setLocal] = useState<MediaStreamTrack | undefined>();
  const [people, setPeople] = useState<ParticipantView[]>(connection.participants);
  const [muted, setMuted] = useState(false);
  const [speaker, setSpeaker] = useState<string | undefined>();
  const [error, setError] = useState(false);

  useEffect(() => {
    const media = new MediaSession(connection);
    setSession(media);
    const sync = (): void => setRemote(media.remoteTracks());
    media.on('remoteTrackAdded', sync);
    media.on('remoteTrackRemoved', sync);
    media.on('remoteTrackPaused', sync);
    media.on('localTrackAdded', (l) => {
      if (l.source === 'camera') setLocal(l.track);
    });
    media.on('micState', (s) => setMuted(s.muted));
    media.on('activeSpeaker', setSpeaker);
    const offJoined = connection.on('participantJoined', () => setPeople(connection.participants));
    const offLeft = connection.on('participantLeft', () => setPeople(connection.participants));
    void (async () => {
      try {
        await media.start();
        await media.publishMic();
        await media.publishCamera();
      } catch {
        setError(true);
      }
    })();
    return () => {
      offJoined();
      offLeft();
      media.close();
    };
  }, [connection]);

  const self = connection.self;
  const tiles: Tile[] = [
    {
      participantId: self?.participantId ?? 'me',
      name: t('you'),
      self: true,
      ...(local ? { video: local } : {}),
    },
    ...people.map((p) => {
      const tracks = remote.filter((r) => r.participantId === p.participantId && r.source !== 'screen');
      const video = tracks.find((r) => r.kind === 'video' && !r.producerPaused)?.track;
      const audio = tracks.find((r) => r.kind === 'audio')?.track;
      return {
        participantId: p.participantId,
        name: p.displayName,
        self: false,
        ...(video ? { video } : {}),
        ...(audio ? { audio } : {}),
      };
    }),
  ];

  return (
    <main className="room">
      <header className="room-head">
        <h2>{props.title}</h2>
        <span className="muted">{t('participants', { n: tiles.length })}</span>
      </header>
      {error && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
      <div className={`grid n${Math.min(tiles.length, 4)}`}>
        {tiles.map((tile) => (
          <figure
            key={tile.participantId}
            className={`tile${tile.self ? ' self' : ' remote'}${speaker === tile.participantId ? ' speaking' : ''}`}
            data-participant={tile.participantId}
          >
            {tile.video ? (
              <Media track={tile.video} muted={tile.self} />
            ) : (
              <div className="placeholder">{tile.name.slice(0, 1).toUpperCase()}</div>
            )}
            {tile.audio && !tile.self && <Media track={tile.audio} muted={false} />}
            <figcaption>{tile.name}</figcaption>
          </figure>
        ))}
      </div>
      <div className="controls">
        <button
          aria-pressed={muted}
          disabled={!session}
          onClick={() => void (muted ? session?.unmuteMic() : session?.muteMic())?.catch(() => undefined)}
        >
          {muted ? t('unmute') : t('mute')}
        </button>
        <button className="danger" onClick={props.onLeave}>
          {t('leave')}
        </button>
      </div>
    </main>
  );
}

function Media({ track, muted }: { track: MediaStreamTrack; muted: boolean }): React.JSX.Element {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => undefined);
  }, [track]);
  return track.kind === 'video' ? (
    <video ref={ref} autoPlay playsInline muted={muted} />
  ) : (
    <audio ref={ref} autoPlay />
  );
}
