/** The meeting room, loaded on demand: video grid, controls, participants panel and in-call chat. */
import { useEffect, useRef, useState } from 'react';
import type { LobbyEntry, ParticipantView } from '../../../../shared/protocol.js';
import type { MeetingChatMessageView } from '../../../../shared/schemas/chat.js';
import { MediaSession, type MicState, type RemoteTrack } from '../../media/MediaSession.js';
import { RequestError, type MeetingConnection } from '../../media/MeetingConnection.js';
import { ControlIcon } from '../ui/ControlIcon.js';
import { routeAudio, type DeviceChoice } from '../settings/devices.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';

interface Tile {
  participantId: string;
  name: string;
  video?: RemoteTrack;
  audio?: MediaStreamTrack;
  handRaised: boolean;
  reconnecting: boolean;
}

export default function Room(props: {
  connection: MeetingConnection;
  title: string;
  devices?: DeviceChoice;
  onLeave: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const { connection } = props;
  // Read once when the media starts; a later change in Impostazioni applies to the next meeting.
  const devices = useRef<DeviceChoice>(props.devices ?? {}).current;
  const [session, setSession] = useState<MediaSession | undefined>();
  const [remote, setRemote] = useState<RemoteTrack[]>([]);
  const [camera, setCamera] = useState<MediaStreamTrack | undefined>();
  const [screen, setScreen] = useState<MediaStreamTrack | undefined>();
  const [people, setPeople] = useState<ParticipantView[]>(connection.participants);
  const [mic, setMic] = useState<MicState>({ muted: false, locked: false });
  const [hand, setHand] = useState(false);
  const [speaker, setSpeaker] = useState<string | undefined>();
  const [notice, setNotice] = useState<MessageKey | undefined>();
  const [reconnecting, setReconnecting] = useState(false);
  const [pending, setPending] = useState<string | undefined>();
  const [error, setError] = useState(false);
  const [panel, setPanel] = useState<'people' | 'chat'>('people');
  const [lobby, setLobby] = useState<LobbyEntry[]>(connection.lobby);
  const isOrganizer = connection.self?.isOrganizer ?? false;

  useEffect(() => {
    const media = new MediaSession(connection);
    setSession(media);
    const sync = (): void => setRemote(media.remoteTracks());
    const syncPeople = (): void => setPeople(connection.participants);
    media.on('remoteTrackAdded', sync);
    media.on('remoteTrackRemoved', sync);
    media.on('remoteTrackPaused', sync);
    media.on('localTrackAdded', (l) => {
      if (l.source === 'camera') setCamera(l.track);
      if (l.source === 'screen') setScreen(l.track);
    });
    media.on('localTrackRemoved', (l) => {
      if (l.source === 'camera') setCamera(undefined);
      if (l.source === 'screen') setScreen(undefined);
    });
    media.on('micState', (s) => setMic({ ...s }));
    media.on('activeSpeaker', setSpeaker);
    media.on('mutedByOrganizer', ({ locked }) => setNotice(locked ? 'mutedLocked' : 'mutedByOrganizer'));
    media.on('micUnlocked', () => setNotice('micUnlocked'));
    media.on('cameraStoppedByOrganizer', () => setNotice('cameraStopped'));
    media.on('restarting', () => setReconnecting(true));
    media.on('resumed', () => setReconnecting(false));
    media.on('state', (s) => {
      if (s === 'ready') setReconnecting(false);
    });
    const offs = [
      connection.on('participantJoined', syncPeople),
      connection.on('participantLeft', syncPeople),
      connection.on('lobby', setLobby),
      // Someone whose connection dropped stays, marked as reconnecting, until they are back or gone for good.
      connection.on('participantUpdated', (p) => {
        if (p.participantId === connection.self?.participantId) setHand(p.handRaised);
        else syncPeople();
      }),
      connection.on('state', (s) => {
        if (s === 'reconnecting') setReconnecting(true);
        else if (s === 'joined') setReconnecting(false);
      }),
      connection.on('joined', (info) => {
        syncPeople();
        // Back after a drop: the server's word on our hand (lowered if we were out past the grace window).
        const self = info.participants.find((p) => p.participantId === info.participantId);
        if (self) setHand(self.handRaised);
      }),
    ];
    void (async () => {
      try {
        await media.start();
        await media.publishMic(undefined, devices.audioInput);
        await media.publishCamera(undefined, devices.videoInput);
      } catch {
        setError(true);
      }
    })();
    return () => {
      for (const off of offs) off();
      media.close();
    };
  }, [connection, devices]);

  /** Runs one action with its button disabled meanwhile; a failure shows the generic error. */
  const act = (key: string, run: () => Promise<unknown>): void => {
    setPending(key);
    run()
      .catch((err: unknown) => {
        if (err instanceof RequestError && err.code === 'FORBIDDEN' && key === 'mic')
          setNotice('mutedLocked');
        else setError(true);
      })
      .finally(() => setPending(undefined));
  };

  const tiles: Tile[] = people.map((p) => {
    const tracks = remote.filter((r) => r.participantId === p.participantId && r.source !== 'screen');
    const video = tracks.find((r) => r.kind === 'video' && !r.producerPaused);
    const audio = tracks.find((r) => r.kind === 'audio')?.track;
    return {
      participantId: p.participantId,
      name: p.displayName,
      handRaised: p.handRaised,
      reconnecting: p.connection === 'reconnecting',
      ...(video ? { video } : {}),
      ...(audio ? { audio } : {}),
    };
  });
  const shared = remote.find((r) => r.source === 'screen' && r.kind === 'video');
  const sharedBy = shared && people.find((p) => p.participantId === shared.participantId)?.displayName;
  const selfId = connection.self?.participantId ?? 'me';

  return (
    <main className="room">
      <header className="room-head">
        <h2>{props.title}</h2>
        <span className="muted">{t('participants', { n: people.length + 1 })}</span>
      </header>
      {reconnecting && (
        <p className="banner" role="status">
          {t('reconnecting')}
        </p>
      )}
      {notice && (
        <p className="notice" role="alert">
          {t(notice)}
          <button className="link" aria-label={t('close')} onClick={() => setNotice(undefined)}>
            ×
          </button>
        </p>
      )}
      {error && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
      <div className="room-body">
        <div className="stage-area">
          {(shared ?? screen) && (
            <figure className="tile stage">
              {shared && session ? (
                <RemoteVideo session={session} remote={shared} />
              ) : (
                screen && <Media track={screen} muted />
              )}
              {/* One's own share has its own words: "Schermo di Tu" is not Italian. */}
              <figcaption>{shared ? t('screenOf', { name: sharedBy ?? '' }) : t('yourScreen')}</figcaption>
            </figure>
          )}
          <div className={`grid n${Math.min(tiles.length + 1, 4)}`}>
            <figure className={`tile self${speaker === selfId ? ' speaking' : ''}`} data-participant={selfId}>
              {camera ? (
                <Media track={camera} muted />
              ) : (
                <div className="placeholder">{t('you').slice(0, 1)}</div>
              )}
              <figcaption>
                {hand && <span className="hand-badge">{t('handRaised')}</span>}
                {t('you')}
                {mic.muted && <span className="mic-badge">{t('micOff')}</span>}
              </figcaption>
            </figure>
            {tiles.map((tile) => (
              <figure
                key={tile.participantId}
                className={`tile remote${speaker === tile.participantId ? ' speaking' : ''}`}
                data-participant={tile.participantId}
              >
                {tile.video && session ? (
                  <RemoteVideo session={session} remote={tile.video} />
                ) : (
                  <div className="placeholder">{tile.name.slice(0, 1).toUpperCase()}</div>
                )}
                {tile.audio && <Media track={tile.audio} muted={false} sinkId={devices.audioOutput} />}
                <figcaption>
                  {tile.handRaised && <span className="hand-badge">{t('handRaised')}</span>}
                  {tile.name}
                  {tile.reconnecting && <ReconnectingBadge />}
                </figcaption>
              </figure>
            ))}
          </div>
        </div>
        <aside className="side-panel">
          <div className="panel-tabs" role="tablist">
            <button role="tab" aria-selected={panel === 'people'} onClick={() => setPanel('people')}>
              {t('participantsTab')}
            </button>
            <button role="tab" aria-selected={panel === 'chat'} onClick={() => setPanel('chat')}>
              {t('chatTab')}
            </button>
          </div>
          {panel === 'people' && isOrganizer && lobby.length > 0 && (
            <section className="lobby" aria-labelledby="lobby-title">
              <h3 id="lobby-title">
                {t('lobby')} ({lobby.length})
              </h3>
              <ul className="people">
                {lobby.map((w) => (
                  <li key={w.waiterId} className="person" data-waiter={w.waiterId}>
                    <span>{w.displayName}</span>
                    <span className="person-actions">
                      <button
                        disabled={pending !== undefined}
                        aria-label={`${t('admit')}: ${w.displayName}`}
                        onClick={() =>
                          act(`admit-${w.waiterId}`, () =>
                            connection.request({ type: 'meeting.admit', waiterId: w.waiterId }),
                          )
                        }
                      >
                        {t('admit')}
                      </button>
                      <button
                        className="danger"
                        disabled={pending !== undefined}
                        aria-label={`${t('deny')}: ${w.displayName}`}
                        onClick={() =>
                          act(`deny-${w.waiterId}`, () =>
                            connection.request({ type: 'meeting.deny', waiterId: w.waiterId }),
                          )
                        }
                      >
                        {t('deny')}
                      </button>
                    </span>
                  </li>
                ))}
              </ul>
            </section>
          )}
          {panel === 'people' ? (
            <ul className="people" aria-label={t('participantsTab')}>
              <li>
                <span>
                  {hand && <span className="hand-badge">{t('handRaised')}</span>}
                  {t('you')}
                </span>
              </li>
              {people.map((p) => (
                <li key={p.participantId} className="person" data-participant={p.participantId}>
                  <span>
                    {p.handRaised && <span className="hand-badge">{t('handRaised')}</span>}
                    {p.displayName}
                    {p.isOrganizer && <small className="muted"> · {t('organizer')}</small>}
                    {p.connection === 'reconnecting' && <ReconnectingBadge />}
                  </span>
                  {isOrganizer && (
                    <span className="person-actions">
                      <button
                        disabled={pending !== undefined}
                        onClick={() =>
                          act(`mute-${p.participantId}`, () =>
                            connection.request({
                              type: 'media.muteParticipant',
                              participantId: p.participantId,
                              lock: false,
                            }),
                          )
                        }
                      >
                        {t('muteParticipant')}
                      </button>
                      <button
                        disabled={pending !== undefined}
                        onClick={() =>
                          act(`cam-${p.participantId}`, () =>
                            connection.request({ type: 'media.stopCamera', participantId: p.participantId }),
                          )
                        }
                      >
                        {t('stopCamera')}
                      </button>
                      <button
                        className="danger"
                        disabled={pending !== undefined}
                        onClick={() =>
                          act(`rm-${p.participantId}`, () =>
                            connection.request({
                              type: 'meeting.removeParticipant',
                              participantId: p.participantId,
                            }),
                          )
                        }
                      >
                        {t('remove')}
                      </button>
                    </span>
                  )}
                </li>
              ))}
            </ul>
          ) : (
            <Chat connection={connection} />
          )}
        </aside>
      </div>
      <div className="controls" role="toolbar" aria-label={t('controls')}>
        <button
          aria-pressed={mic.muted}
          disabled={!session || pending === 'mic'}
          onClick={() => {
            if (session)
              act('mic', () =>
                mic.muted ? session.unmuteMic().then(() => setNotice(undefined)) : session.muteMic(),
              );
          }}
        >
          <ControlIcon name={mic.muted ? 'micOff' : 'mic'} />
          <span className="control-label">
            {mic.muted ? t('unmute') : t('mute')}
            {mic.locked && ` (${t('locked')})`}
          </span>
        </button>
        <button
          aria-pressed={!camera}
          disabled={!session || pending === 'camera'}
          onClick={() => {
            if (session)
              act('camera', () =>
                camera ? session.unpublish('camera') : session.publishCamera(undefined, devices.videoInput),
              );
          }}
        >
          <ControlIcon name={camera ? 'camera' : 'cameraOff'} />
          <span className="control-label">{camera ? t('cameraOff') : t('cameraOn')}</span>
        </button>
        <button
          aria-pressed={!!screen}
          disabled={!session || pending === 'screen'}
          onClick={() => {
            if (session)
              act('screen', () => (screen ? session.unpublish('screen') : session.publishScreen()));
          }}
        >
          <ControlIcon name="screen" />
          <span className="control-label">{screen ? t('stopShare') : t('shareScreen')}</span>
        </button>
        <button
          aria-pressed={hand}
          disabled={pending === 'hand'}
          onClick={() =>
            act('hand', async () => {
              const { raised } = await connection.request({ type: 'meeting.raiseHand', raised: !hand });
              setHand(raised);
            })
          }
        >
          <ControlIcon name="hand" />
          <span className="control-label">{hand ? t('lowerHand') : t('raiseHand')}</span>
        </button>
        <button className="danger" onClick={props.onLeave}>
          <ControlIcon name="leave" />
          <span className="control-label">{t('leave')}</span>
        </button>
        {isOrganizer && (
          <button
            className="danger"
            disabled={pending === 'end'}
            onClick={() => act('end', () => connection.request({ type: 'meeting.end' }))}
          >
            <ControlIcon name="end" />
            <span className="control-label">{t('endForAll')}</span>
          </button>
        )}
      </div>
    </main>
  );
}

/** On someone whose connection dropped: still in the meeting, perhaps back in a moment (amber, like our banner). */
function ReconnectingBadge(): React.JSX.Element {
  const { t } = useI18n();
  return <span className="hand-badge reconnecting-badge">{t('participantReconnecting')}</span>;
}

function Chat({ connection }: { connection: MeetingConnection }): React.JSX.Element {
  const { t } = useI18n();
  const [messages, setMessages] = useState<MeetingChatMessageView[]>([]);
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [failed, setFailed] = useState(false);

  const add = (m: MeetingChatMessageView): void =>
    setMessages((list) => (list.some((x) => x.eventId === m.eventId) ? list : [...list, m]));

  useEffect(() => {
    let cancelled = false;
    const load = (): void => {
      connection
        .request({ type: 'meeting.chat.history', limit: 50 })
        .then(({ items }) => {
          if (!cancelled) for (const m of [...items].reverse()) add(m);
        })
        .catch(() => {
          if (!cancelled) setFailed(true);
        });
    };
    connection.socket.on('meeting.chat.message', add);
    load();
    // What was written while our socket was down went to the meeting without us: catch up once back in.
    const offJoined = connection.on('joined', (_info, { rejoin }) => {
      if (rejoin) load();
    });
    return () => {
      cancelled = true;
      offJoined();
      connection.socket.off('meeting.chat.message', add);
    };
  }, [connection]);

  return (
    <div className="room-chat">
      <ol className="chat-messages" aria-live="polite">
        {[...messages]
          .sort((a, b) => a.ts - b.ts)
          .map((m) => (
            <li key={m.eventId}>
              <strong>{m.sender.displayName}</strong> {m.body}
            </li>
          ))}
      </ol>
      {failed && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const body = text.trim();
          if (!body) return;
          setSending(true);
          setFailed(false);
          connection
            .request({ type: 'meeting.chat.send', body })
            .then(({ eventId }) => {
              setText('');
              add({
                meetingId: '',
                eventId,
                sender: { kind: 'user', displayName: t('you') },
                body,
                ts: Date.now(),
              });
            })
            .catch(() => setFailed(true))
            .finally(() => setSending(false));
        }}
      >
        <input
          aria-label={t('chatMessage')}
          placeholder={t('chatMessage')}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={sending || !text.trim()}>
          {t('send')}
        </button>
      </form>
    </div>
  );
}

/** A remote video whose simulcast layer follows the element's size. */
function RemoteVideo({ session, remote }: { session: MediaSession; remote: RemoteTrack }): React.JSX.Element {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([remote.track]);
    el.play().catch(() => undefined);
    return session.followDisplay(remote.consumerId, el);
  }, [session, remote.consumerId, remote.track]);
  return <video ref={ref} autoPlay playsInline muted />;
}

function Media({
  track,
  muted,
  sinkId,
}: {
  track: MediaStreamTrack;
  muted: boolean;
  sinkId?: string | undefined;
}): React.JSX.Element {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    void routeAudio(el, sinkId).then(() => el.play().catch(() => undefined));
  }, [track, sinkId]);
  return track.kind === 'video' ? (
    <video ref={ref} autoPlay playsInline muted={muted} />
  ) : (
    <audio ref={ref} autoPlay />
  );
}
