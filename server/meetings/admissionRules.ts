import { createHash } from 'node:crypto';
import type { JoinedInfo, JoinOutcome, ParticipantView } from '../../shared/protocol.js';
import type { Auth } from '../auth/authMiddleware.js';
import { ForbiddenError } from '../errors.js';
import {
  meetingCancelled,
  meetingEnded,
  meetingNotFound,
  notInvited,
  organizerOnly,
  removedFromMeeting,
} from './errors.js';
import { isObjectId, type Denied, type MeetingDocument, type Participant } from './Meeting.js';

/** The pure rules the AdmissionGate applies to a meeting document: who counts as in, identities, pruning. */

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The one canonical form of a meeting id (lower-case hex); anything else is no meeting at all. */
export function canonicalMeetingId(id: string): string {
  if (!isObjectId(id)) throw meetingNotFound();
  return id.toLowerCase();
}

export interface Identity {
  userId?: string;
  guestId?: string;
}

export function identityOf(auth: Auth): Identity {
  return auth.kind === 'user' ? { userId: auth.userId } : { guestId: auth.guestId };
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.userId !== undefined ? a.userId === b.userId : a.guestId !== undefined && a.guestId === b.guestId;
}

/**
 * May this caller come to this meeting at all (before any question of waiting, caps or expiry)? Not cancelled
 * or ended; a guest's token for this meeting and its current link; a colleague invited or holding the link; not
 * denylisted.
 */
export function checkAccess(meeting: MeetingDocument, auth: Auth, guestCode: string | undefined): void {
  if (meeting.status === 'cancelled') throw meetingCancelled();
  if (meeting.status === 'ended') throw meetingEnded();
  if (auth.kind === 'guest') {
    if (auth.meetingId.toLowerCase() !== String(meeting._id))
      throw new ForbiddenError('This guest link is for another meeting');
    if (auth.linkVersion !== meeting.guestCodeVersion)
      throw new ForbiddenError('This guest link was replaced');
  } else {
    const invited = auth.userId === meeting.organizerId || meeting.inviteeIds.includes(auth.userId);
    if (!invited && guestCode !== meeting.guestCode) {
      throw notInvited();
    }
  }
  const identity = identityOf(auth);
  if (meeting.denylist.some((d) => sameIdentity(identity, d))) throw removedFromMeeting();
}

/** Only the organizer (a directory user) moderates. */
export function requireOrganizer(meeting: MeetingDocument, auth: Auth): void {
  if (auth.kind !== 'user' || auth.userId !== meeting.organizerId) {
    throw organizerOnly();
  }
}

/** Dropped, and still within the grace window: in the meeting, shown as reconnecting. */
export function isReconnecting(p: Participant, now: number): boolean {
  return p.leftAt !== undefined && p.dropped === true && (p.rejoinUntil?.getTime() ?? 0) > now;
}

/** Connected, or reconnecting: who the others see in the meeting, and who keeps its session going. */
export function isIn(p: Participant, now: number): boolean {
  return p.leftAt === undefined || isReconnecting(p, now);
}

/** Out, and past any rejoin window: nothing about this record can matter to a later decision of the session. */
function isGone(p: Participant, now: number): boolean {
  return p.leftAt !== undefined && (p.rejoinUntil?.getTime() ?? 0) <= now;
}

/** The view of someone in the meeting (see `isIn`). */
export function viewOf(meeting: MeetingDocument, p: Participant): ParticipantView {
  return {
    participantId: p.participantId,
    displayName: p.displayName,
    kind: p.kind,
    isOrganizer: p.userId !== undefined && p.userId === meeting.organizerId,
    handRaised: p.handRaised ?? false,
    connection: p.leftAt === undefined ? 'connected' : 'reconnecting',
  };
}

/**
 * Keeps the participant records bounded: when a session ends every record past its rejoin window goes (the
 * next session starts clean), and within a session the oldest gone records go once there are more than `max`.
 */
export function pruneParticipants(meeting: MeetingDocument, now: number, max: number): void {
  const keep = (p: Participant): boolean => !isGone(p, now);
  if (!meeting.live) {
    if (meeting.participants.some((p) => !keep(p))) meeting.participants = meeting.participants.filter(keep);
    return;
  }
  let excess = meeting.participants.length - max;
  if (excess <= 0) return;
  meeting.participants = meeting.participants.filter((p) => {
    if (excess > 0 && !keep(p)) {
      excess -= 1;
      return false;
    }
    return true;
  });
}

/** Adds an identity to the denylist once; past `max` entries the oldest are forgotten. */
export function deny(meeting: MeetingDocument, who: Identity, at: Date, max: number): void {
  if (meeting.denylist.some((d) => sameIdentity(who, d))) return;
  const entry: Denied = { at, ...(who.userId ? { userId: who.userId } : { guestId: who.guestId }) };
  meeting.denylist = [...meeting.denylist, entry].slice(-max);
}

type Joined = Extract<JoinOutcome, { state: 'joined' }>;

/** A `joined` answer as the `meeting.admitted` event carries it. */
export function infoOf(outcome: Joined): JoinedInfo {
  return {
    meetingId: outcome.meetingId,
    participantId: outcome.participantId,
    isOrganizer: outcome.isOrganizer,
    rejoinToken: outcome.rejoinToken,
    rejoinWindowMs: outcome.rejoinWindowMs,
    participants: outcome.participants,
  };
}
