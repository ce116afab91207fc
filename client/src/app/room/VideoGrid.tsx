import type { ParticipantView } from '../../../../shared/protocol.js';
import type { MediaSession, RemoteTrack } from '../../media/MediaSession.js';
import { useI18n } from '../i18n/i18n.js';
import { Media, RemoteVideo } from './Media.js';
import { ReconnectingBadge } from './PeoplePanel.js';

interface Tile {
  participantId: string;
  name: string;
  video?: RemoteTrack;
  audio?: MediaStreamTrack;
  handRaised: boolean;
  reconnecting: boolean;
}

/** The stage (a shared screen) and the grid of tiles: one's own first, then everyone else's. */
export function VideoGrid({
  session,
  remote,
  people,
  camera,
  screen,
  selfId,
  speaker,
  hand,
  micMuted,
  audioOutput,
}: {
  session: MediaSession | undefined;
  remote: RemoteTrack[];
  people: ParticipantView[];
  camera: MediaStreamTrack | undefined;
  screen: MediaStreamTrack | undefined;
  selfId: string;
  speaker: string | undefined;
  hand: boolean;
  micMuted: boolean;
  audioOutput: string | undefined;
}): React.JSX.Element {
  const { t } = useI18n();
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

  return (
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
            {micMuted && <span className="mic-badge">{t('micOff')}</span>}
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
            {tile.audio && <Media track={tile.audio} muted={false} sinkId={audioOutput} />}
            <figcaption>
              {tile.handRaised && <span className="hand-badge">{t('handRaised')}</span>}
              {tile.name}
              {tile.reconnecting && <ReconnectingBadge />}
            </figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
}
