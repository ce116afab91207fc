import { Schema, Types, type Connection, type HydratedDocument, type Model } from 'mongoose';

export const MEETING_STATUSES = ['scheduled', 'cancelled', 'ended'] as const;

/**
 * One person in a meeting's session. The record outlives the connection: after a drop it keeps a hashed rejoin
 * credential until `rejoinUntil`, which is what lets that person back in after the meeting's end time.
 */
export interface Participant {
  participantId: string;
  kind: 'user' | 'guest';
  userId?: string;
  guestId?: string;
  displayName: string;
  joinedAt: Date;
  /** Set while the person is out (dropped or left); cleared on rejoin. */
  leftAt?: Date;
  rejoinTokenHash: string;
  rejoinUntil?: Date;
  /**
   * Out because the connection dropped (not a leave): until `rejoinUntil` the person still counts as in the
   * meeting, shown to the others as reconnecting. Cleared on rejoin, and when the grace window ends.
   */
  dropped?: boolean;
  handRaised?: boolean;
  /** A guest's link version at admission: rotating the link puts guests of older versions out. */
  linkVersion?: number;
  /** The server node that admitted this person (NodeRegistry): if it dies, another node ends the record. */
  node?: string;
}

/** Who may never come back (the organizer removed them), by identity, not by connection. */
export interface Denied {
  userId?: string;
  guestId?: string;
  at: Date;
}

export interface Meeting {
  title: string;
  description: string;
  startAt: Date;
  durationMinutes: number;
  organizerId: string;
  inviteeIds: string[];
  guestCode: string;
  /** Bumped when the guest link is rotated; guest tokens carry it, so old ones stop working. */
  guestCodeVersion: number;
  /**
   * The dial-in PIN (DialInPins, which keeps PINs unique): rotated with the guest link. Unset only on meetings
   * saved before PINs existed, until start-up gives them one.
   */
  dialInPin?: string;
  status: (typeof MEETING_STATUSES)[number];
  /** iCalendar SEQUENCE: bumped on every change that is mailed to invitees. */
  sequence: number;
  /** The live session; its state survives a server restart. */
  live: boolean;
  sessionStartedAt?: Date;
  sessionEndedAt?: Date;
  endedAt?: Date;
  participants: Participant[];
  denylist: Denied[];
  /**
   * Set once the organizer has removed a guest: from then on guests not already in the session knock and wait
   * for the organizer to let them in (a removed guest could otherwise come back from another browser).
   */
  knockRequired: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type MeetingDocument = HydratedDocument<Meeting>;
export type MeetingModel = Model<Meeting>;

const participantSchema = new Schema<Participant>(
  {
    participantId: { type: String, required: true },
    kind: { type: String, enum: ['user', 'guest'], required: true },
    userId: String,
    guestId: String,
    displayName: { type: String, required: true },
    joinedAt: { type: Date, required: true },
    leftAt: Date,
    rejoinTokenHash: { type: String, required: true },
    rejoinUntil: Date,
    dropped: Boolean,
    handRaised: Boolean,
    linkVersion: Number,
    node: String,
  },
  { _id: false },
);

const deniedSchema = new Schema<Denied>(
  { userId: String, guestId: String, at: { type: Date, required: true } },
  { _id: false },
);

const meetingSchema = new Schema<Meeting>(
  {
    title: { type: String, required: true, maxlength: 200 },
    description: { type: String, default: '', maxlength: 5_000 },
    startAt: { type: Date, required: true },
    durationMinutes: { type: Number, required: true, min: 1, max: 1_440 },
    organizerId: { type: String, required: true },
    inviteeIds: { type: [String], default: [] },
    guestCode: { type: String, required: true },
    guestCodeVersion: { type: Number, default: 1 },
    dialInPin: String,
    status: { type: String, enum: MEETING_STATUSES, default: 'scheduled' },
    sequence: { type: Number, default: 0 },
    live: { type: Boolean, default: false },
    sessionStartedAt: Date,
    sessionEndedAt: Date,
    endedAt: Date,
    participants: { type: [participantSchema], default: [] },
    denylist: { type: [deniedSchema], default: [] },
    knockRequired: { type: Boolean, default: false },
  },
  { timestamps: true },
);

// One guest code per meeting, unique across meetings: the link alone finds the meeting.
meetingSchema.index({ guestCode: 1 }, { unique: true });
meetingSchema.index({ organizerId: 1, startAt: 1 });
meetingSchema.index({ inviteeIds: 1, startAt: 1 });

export function meetingEndsAt(meeting: Pick<Meeting, 'startAt' | 'durationMinutes'>): Date {
  return new Date(meeting.startAt.getTime() + meeting.durationMinutes * 60_000);
}

export function meetingModel(connection: Connection): MeetingModel {
  return (
    (connection.models.Meeting as MeetingModel | undefined) ??
    connection.model<Meeting>('Meeting', meetingSchema)
  );
}

export function isObjectId(id: string): boolean {
  return Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id);
}
