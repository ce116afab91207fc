import type { MediaSession, MicState } from '../../media/MediaSession.js';
import type { MeetingConnection } from '../../media/MeetingConnection.js';
import { useI18n } from '../i18n/i18n.js';
import type { DeviceChoice } from '../settings/devices.js';
import { ControlIcon } from '../ui/ControlIcon.js';

/** The toolbar: mic, camera, screen, hand, leave and (for the organizer) end for all. */
export function Controls({
  connection,
  session,
  mic,
  camera,
  screen,
  hand,
  setHand,
  setNotice,
  isOrganizer,
  devices,
  pending,
  act,
  onLeave,
}: {
  connection: MeetingConnection;
  session: MediaSession | undefined;
  mic: MicState;
  camera: MediaStreamTrack | undefined;
  screen: MediaStreamTrack | undefined;
  hand: boolean;
  setHand: (raised: boolean) => void;
  setNotice: (notice: undefined) => void;
  isOrganizer: boolean;
  devices: DeviceChoice;
  pending: string | undefined;
  act: (key: string, run: () => Promise<unknown>) => void;
  onLeave: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  return (
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
          if (session) act('screen', () => (screen ? session.unpublish('screen') : session.publishScreen()));
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
      <button className="danger" onClick={onLeave}>
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
  );
}
