import type { Logger } from '../logger.js';
import type { AdmissionGate } from './AdmissionGate.js';
import type { MediaRooms } from './MediaRooms.js';

/**
 * The gate alone decides who is in a meeting; media follows. Whoever is out for good loses their media, and the
 * end of a session (ended, cancelled, nobody left) closes the meeting's routers. A dropped participant is not
 * out yet (the gate reports them as reconnecting): their transports and producers stay for the grace window, so
 * the others keep their consumers and a return resumes on them.
 */
export function mediaFollowsGate(gate: AdmissionGate, media: MediaRooms, logger: Logger): void {
  const log = logger.child({ component: 'media' });
  const logged = (p: Promise<void>): void => {
    p.catch((err: unknown) => log.error({ err }, 'media clean-up failed'));
  };
  gate.on('participantLeft', (meetingId, participantId) => logged(media.leave(meetingId, participantId)));
  gate.on('sessionClosed', (meetingId) => logged(media.endMeeting(meetingId)));
}
