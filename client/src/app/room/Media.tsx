import { useEffect, useRef } from 'react';
import type { MediaSession, RemoteTrack } from '../../media/MediaSession.js';
import { routeAudio } from '../settings/devices.js';

/** A remote video whose simulcast layer follows the element's size. */
export function RemoteVideo({
  session,
  remote,
}: {
  session: MediaSession;
  remote: RemoteTrack;
}): React.JSX.Element {
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

/** A local or remote track in a <video> or <audio>; audio goes to the chosen output where the browser can. */
export function Media({
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
