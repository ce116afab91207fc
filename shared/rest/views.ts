/**
 * Zod schemas of what the REST API answers. The interfaces in `shared/schemas/` stay the types the code uses;
 * the checks at the bottom make the compiler refuse a schema that drifts from its interface, so the OpenAPI
 * document (generated from these) and the TypeScript types describe one shape.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorResponse } from '../errors.js';
import type { LoginResponse } from '../schemas/auth.js';
import type { ChatMessageView, ChatRoomView } from '../schemas/chat.js';
import {
  LANGUAGE_VALUES,
  PHONE_RINGTONES,
  PLAN_VALUES,
  ROLE_VALUES,
  type Profile,
  type PublicUser,
  type SyncResult,
} from '../schemas/directory.js';
import type { GuestMeetingView, MeetingView } from '../schemas/meetings.js';

/** `{ error: { code, message, details? } }`: every error, over HTTP and in socket acks. */
export const errorResponseSchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
    retryAfterMs: z.number().optional(),
  }),
});

export const publicUserSchema = z.strictObject({
  id: z.string(),
  extension: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  displayName: z.string(),
  email: z.string().optional(),
  role: z.enum(ROLE_VALUES),
  plan: z.enum(PLAN_VALUES),
  disabled: z.boolean(),
  avatarUrl: z.string().optional(),
});

export const profileSchema = publicUserSchema.extend({
  preferences: z.strictObject({
    language: z.enum(LANGUAGE_VALUES),
    darkTheme: z.boolean(),
    notificationSounds: z.boolean(),
    sendSound: z.boolean(),
    ringtones: z.boolean(),
    devices: z.strictObject({
      audioInput: z.string().optional(),
      videoInput: z.string().optional(),
      audioOutput: z.string().optional(),
    }),
    phone: z.strictObject({
      web: z.boolean(),
      ringInternal: z.enum(PHONE_RINGTONES),
      ringExternal: z.enum(PHONE_RINGTONES),
      ringDevice: z.string().optional(),
    }),
  }),
});

export const loginResponseSchema = z.strictObject({
  accessToken: z.string(),
  expiresInMs: z.number(),
  user: publicUserSchema.pick({
    id: true,
    extension: true,
    firstName: true,
    lastName: true,
    plan: true,
    role: true,
  }),
});

export const userPageSchema = z.strictObject({
  items: z.array(publicUserSchema),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});

export const syncResultSchema = z.strictObject({
  created: z.number().int(),
  updated: z.number().int(),
  disabled: z.number().int(),
  unchanged: z.number().int(),
  errors: z.array(
    z.strictObject({ row: z.number().int(), extension: z.string().optional(), message: z.string() }),
  ),
});

const meetingStateSchema = z.enum(['waiting', 'live', 'expired', 'ended', 'cancelled']);
const meetingPersonSchema = z.strictObject({
  id: z.string(),
  extension: z.string(),
  displayName: z.string(),
});

const dialInSchema = z.strictObject({ extension: z.string(), pin: z.string() });

export const meetingViewSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  startAt: z.string(),
  durationMinutes: z.number().int(),
  endsAt: z.string(),
  organizer: meetingPersonSchema,
  invitees: z.array(meetingPersonSchema),
  invitedCount: z.number().int(),
  myRole: z.enum(['organizer', 'invitee']),
  state: meetingStateSchema,
  joinUrl: z.string(),
  guestUrl: z.string(),
  dialIn: dialInSchema.optional(),
  sequence: z.number().int(),
});

export const guestMeetingViewSchema = z.strictObject({
  title: z.string(),
  organizerName: z.string(),
  startAt: z.string(),
  state: meetingStateSchema,
  dialIn: dialInSchema.optional(),
});

export const guestJoinResponseSchema = z.strictObject({
  guestToken: z.string(),
  expiresInMs: z.number(),
  meetingId: z.string(),
  guestId: z.string(),
});

const chatMemberSchema = z.strictObject({
  mxid: z.string(),
  userId: z.string().optional(),
  extension: z.string().optional(),
  displayName: z.string(),
});

export const chatRoomViewSchema = z.strictObject({
  roomId: z.string(),
  kind: z.enum(['dm', 'group']),
  name: z.string(),
  topic: z.string().optional(),
  members: z.array(chatMemberSchema),
  unread: z.number().int(),
  lastActivityAt: z.number(),
  lastMessage: z
    .strictObject({ eventId: z.string(), sender: z.string(), body: z.string(), ts: z.number() })
    .optional(),
  reads: z.array(
    z.strictObject({ userId: z.string().optional(), mxid: z.string(), eventId: z.string(), ts: z.number() }),
  ),
});

export const chatMessageViewSchema = z.strictObject({
  roomId: z.string(),
  eventId: z.string(),
  sender: chatMemberSchema,
  msgtype: z.string(),
  body: z.string(),
  formattedBody: z.string().optional(),
  ts: z.number(),
  replyTo: z.string().optional(),
  edits: z.string().optional(),
  file: z
    .strictObject({
      url: z.string(),
      name: z.string(),
      mimetype: z.string().optional(),
      size: z.number().optional(),
    })
    .optional(),
});

export const chatHistorySchema = z.strictObject({
  items: z.array(chatMessageViewSchema),
  next: z.string().optional(),
});

// Compile-time: each schema and its interface accept the same values, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(_: T): void {}
same<Same<z.infer<typeof errorResponseSchema>, ErrorResponse>>(true);
same<Same<z.infer<typeof publicUserSchema>, PublicUser>>(true);
same<Same<z.infer<typeof profileSchema>, Profile>>(true);
same<Same<z.infer<typeof loginResponseSchema>, LoginResponse>>(true);
same<Same<z.infer<typeof syncResultSchema>, SyncResult>>(true);
same<Same<z.infer<typeof meetingViewSchema>, MeetingView>>(true);
same<Same<z.infer<typeof guestMeetingViewSchema>, GuestMeetingView>>(true);
same<Same<z.infer<typeof chatRoomViewSchema>, ChatRoomView>>(true);
same<Same<z.infer<typeof chatMessageViewSchema>, ChatMessageView>>(true);
