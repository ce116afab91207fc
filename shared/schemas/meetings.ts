import { z } from 'zod';
import type { DialInInfo } from '../dialIn.js';
import { objectIdSchema } from './directory.js';

/**
 * A meeting id at the boundary: ObjectId hex, lower-cased once here so every key (queues, waiting rooms, socket
 * rooms) sees one form; 'ABC…' and 'abc…' are the same meeting.
 */
export const meetingIdSchema = objectIdSchema.transform((id) => id.toLowerCase());

const noControl = (s: string): boolean => !/[\p{Cc}]/u.test(s);

export const meetingTitleSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine(noControl, 'must not contain control characters');

/** POST /api/meetings (PRO users). An empty invitee list is a link-only meeting. */
export const createMeetingSchema = z.strictObject({
  title: meetingTitleSchema,
  description: z.string().max(5_000).default(''),
  startAt: z.iso.datetime({ offset: true }),
  durationMinutes: z.number().int().min(1).max(1_440),
  inviteeIds: z
    .array(objectIdSchema)
    .max(500)
    .default([])
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an invitee'),
});
export type CreateMeetingRequest = z.infer<typeof createMeetingSchema>;

/** PATCH /api/meetings/:id (organizer). */
export const updateMeetingSchema = z
  .strictObject({
    title: meetingTitleSchema,
    description: z.string().max(5_000),
    startAt: z.iso.datetime({ offset: true }),
    durationMinutes: z.number().int().min(1).max(1_440),
    inviteeIds: z
      .array(objectIdSchema)
      .max(500)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an invitee'),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required');
export type UpdateMeetingRequest = z.infer<typeof updateMeetingSchema>;

export const listMeetingsQuerySchema = z.strictObject({
  scope: z.enum(['upcoming', 'past']).default('upcoming'),
});

/** A guest's name: trimmed, 1–64 characters, no control characters. */
export const guestJoinSchema = z.strictObject({
  displayName: z.string().trim().min(1).max(64).refine(noControl, 'must not contain control characters'),
});

/** The browser's guest key in the `ucc_guest` cookie (32 random bytes, base64url). */
export const guestBrowserKeySchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export const guestCodeSchema = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'not a guest code');

export type MeetingState = 'waiting' | 'live' | 'expired' | 'ended' | 'cancelled';

export interface MeetingView {
  id: string;
  title: string;
  description: string;
  startAt: string;
  durationMinutes: number;
  endsAt: string;
  organizer: { id: string; extension: string; displayName: string };
  invitees: { id: string; extension: string; displayName: string }[];
  invitedCount: number;
  /** The caller's role in this meeting. */
  myRole: 'organizer' | 'invitee';
  state: MeetingState;
  joinUrl: string;
  guestUrl: string;
  /**
   * Joining by phone: ring `extension`, type `pin`. Every meeting has a PIN (start-up gives one to meetings saved
   * before PINs existed); it changes with the guest link.
   */
  dialIn?: DialInInfo;
  sequence: number;
}

/** What a guest may see of a meeting before joining. */
export interface GuestMeetingView {
  title: string;
  organizerName: string;
  startAt: string;
  state: MeetingState;
  /** Joining by phone, as the organizer and invitees see it; only while the meeting is waiting or live. */
  dialIn?: DialInInfo;
}
