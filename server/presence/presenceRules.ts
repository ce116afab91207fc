import type { PresenceState } from '../../shared/schemas/presence.js';

/** What presence knows of one user at a moment. */
export interface PresenceInputs {
  /** Live calls (dialogs) the user's extension is in, as caller or callee, ringing included. */
  calls: number;
  /** Live meetings the user is a participant of (reconnecting within the grace window counts). */
  meetings: number;
  /** SIP bindings of the extension: web phones and desk phones alike. */
  registrations: number;
}

/**
 * The one state colleagues see, the busiest first: a call beats a meeting (a phone call taken during a meeting
 * is what stops you answering another), a meeting beats a registered phone, and nothing at all is offline.
 */
export function presenceOf(i: PresenceInputs): PresenceState {
  if (i.calls > 0) return 'onCall';
  if (i.meetings > 0) return 'inMeeting';
  if (i.registrations > 0) return 'available';
  return 'offline';
}
