import { useEffect, useState } from 'react';
import type { LobbyEntry, ParticipantView } from '../../../../shared/protocol.js';
import { MediaSession, type MicState, type RemoteTrack } from '../../media/MediaSession.js';
import type { MeetingConnection } from '../../media/MeetingConnection.js';
import type { MessageKey } from '../i18n/i18n.js';
import type { DeviceChoice } from '../settings/devices.js';

export interface RoomMedia {
  session: MediaSession | undefined;
  remote: RemoteTrack[];
  camera: MediaStreamTrack | undefined;
  screen: MediaStreamTrack | undefined;
  people: ParticipantView[];
  lobby: LobbyEntry[];
  mic: MicState;
  hand: boolean;
  setHand: (raised: boolean) => void;
  speaker: string | undefined;
  notice: MessageKey | undefined;
  setNotice: (notice: MessageKey | undefined) => void;
  reconnecting: boolean;
  error: boolean;
  setError: (error: boolean) => void;
}

/**
 * The room's media and people: starts a MediaSession (mic and camera from the chosen devices), and follows its
 * events and the connection's (participants, lobby, hand, reconnection) as React state. Closed on unmount.
 */
export function useRoomMedia(connection: MeetingConnection, devices: DeviceChoice): RoomMedia {
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
  const [error, setError] = useState(false);
  const [lobby, setLobby] = useState<LobbyEntry[]>(connection.lobby);

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

  return {
    session,
    remote,
    camera,
    screen,
    people,
    lobby,
    mic,
    hand,
    setHand,
    speaker,
    notice,
    setNotice,
    reconnecting,
    error,
    setError,
  };
}
