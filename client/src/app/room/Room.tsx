/** The meeting room, loaded on demand: video grid, controls, participants panel and in-call chat. */
import { useRef, useState } from 'react';
import { RequestError, type MeetingConnection } from '../../media/MeetingConnection.js';
import { useI18n } from '../i18n/i18n.js';
import type { DeviceChoice } from '../settings/devices.js';
import { Controls } from './Controls.js';
import { PeoplePanel } from './PeoplePanel.js';
import { RoomChat } from './RoomChat.js';
import { useRoomMedia } from './useRoomMedia.js';
import { VideoGrid } from './VideoGrid.js';

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
  const media = useRoomMedia(connection, devices);
  const { people, notice, setNotice, setError } = media;
  const [pending, setPending] = useState<string | undefined>();
  const [panel, setPanel] = useState<'people' | 'chat'>('people');
  const isOrganizer = connection.self?.isOrganizer ?? false;
  const selfId = connection.self?.participantId ?? 'me';

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

  return (
    <main className="room">
      <header className="room-head">
        <h2>{props.title}</h2>
        <span className="muted">{t('participants', { n: people.length + 1 })}</span>
      </header>
      {media.reconnecting && (
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
      {media.error && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
      <div className="room-body">
        <VideoGrid
          session={media.session}
          remote={media.remote}
          people={people}
          camera={media.camera}
          screen={media.screen}
          selfId={selfId}
          speaker={media.speaker}
          hand={media.hand}
          micMuted={media.mic.muted}
          audioOutput={devices.audioOutput}
        />
        <aside className="side-panel">
          <div className="panel-tabs" role="tablist">
            <button role="tab" aria-selected={panel === 'people'} onClick={() => setPanel('people')}>
              {t('participantsTab')}
            </button>
            <button role="tab" aria-selected={panel === 'chat'} onClick={() => setPanel('chat')}>
              {t('chatTab')}
            </button>
          </div>
          {panel === 'people' ? (
            <PeoplePanel
              connection={connection}
              people={people}
              lobby={media.lobby}
              hand={media.hand}
              isOrganizer={isOrganizer}
              pending={pending}
              act={act}
            />
          ) : (
            <RoomChat connection={connection} />
          )}
        </aside>
      </div>
      <Controls
        connection={connection}
        session={media.session}
        mic={media.mic}
        camera={media.camera}
        screen={media.screen}
        hand={media.hand}
        setHand={media.setHand}
        setNotice={setNotice}
        isOrganizer={isOrganizer}
        devices={devices}
        pending={pending}
        act={act}
        onLeave={props.onLeave}
      />
    </main>
  );
}
