import { z } from 'zod';
import { objectIdSchema } from './directory.js';

const noControl = (s: string): boolean => !/[\p{Cc}]/u.test(s);

/** A Matrix room id: `!opaque:server`, or `!hash` without a server in room version 12. */
export const roomIdSchema = z
  .string()
  .max(255)
  .regex(/^![^\s/:]+(:[^\s/]+)?$/, 'must be a Matrix room id');

/** A Matrix event id such as `$abc`. */
export const eventIdSchema = z
  .string()
  .max(255)
  .regex(/^\$[^\s]+$/, 'must be a Matrix event id');

export const roomParamsSchema = z.strictObject({ roomId: roomIdSchema });
export const roomMemberParamsSchema = z.strictObject({ roomId: roomIdSchema, userId: objectIdSchema });
export const roomEventParamsSchema = z.strictObject({ roomId: roomIdSchema, eventId: eventIdSchema });

/** POST /api/chat/dms: the colleague to chat with. */
export const openDmSchema = z.strictObject({ userId: objectIdSchema });
export type OpenDmRequest = z.infer<typeof openDmSchema>;

const roomNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .refine(noControl, 'must not contain control characters');
const descriptionSchema = z.string().trim().max(1_000);

const distinctIds = (min: number) =>
  z
    .array(objectIdSchema)
    .min(min)
    .max(200)
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a member');

/** POST /api/chat/rooms ("Inizia chat di gruppo"): at least two colleagues besides the caller. */
export const createGroupSchema = z.strictObject({
  name: roomNameSchema,
  description: descriptionSchema.optional(),
  memberIds: distinctIds(2),
});
export type CreateGroupRequest = z.infer<typeof createGroupSchema>;

/** PATCH /api/chat/rooms/:roomId: rename or change the description (the Matrix topic) of a group. */
export const updateGroupSchema = z
  .strictObject({ name: roomNameSchema, description: descriptionSchema })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required');
export type UpdateGroupRequest = z.infer<typeof updateGroupSchema>;

/** POST /api/chat/rooms/:roomId/members */
export const addMembersSchema = z.strictObject({ userIds: distinctIds(1) });
export type AddMembersRequest = z.infer<typeof addMembersSchema>;

/**
 * The longest chat message, in UTF-16 code units (JavaScript's `length`), for REST sends and edits and the
 * meeting chat alike. Synapse refuses events over 64 KiB; 20,000 characters of any script fit with room to spare.
 */
export const MAX_MESSAGE_LENGTH = 20_000;

export const messageBodySchema = z
  .string()
  .max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`)
  .refine((s) => s.trim().length > 0, 'must not be empty');

/**
 * POST /api/chat/rooms/:roomId/messages. `clientTxnId` makes a retried send idempotent: the same id sends the
 * message once.
 */
export const sendMessageSchema = z.strictObject({
  body: messageBodySchema,
  replyTo: eventIdSchema.optional(),
  clientTxnId: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{8,64}$/, 'must be 8-64 URL-safe characters')
    .optional(),
});
export type SendMessageRequest = z.infer<typeof sendMessageSchema>;

/** PUT /api/chat/rooms/:roomId/messages/:eventId: an edit of one's own message. */
export const editMessageSchema = z.strictObject({ body: messageBodySchema });
export type EditMessageRequest = z.infer<typeof editMessageSchema>;

/** GET /api/chat/rooms/:roomId/messages?from=&limit=: backwards from the newest, or from a `next` token. */
export const historyQuerySchema = z.strictObject({
  from: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(30),
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

/** POST /api/chat/rooms/:roomId/read: everything up to this event is read. */
export const readReceiptSchema = z.strictObject({ eventId: eventIdSchema });

/**
 * A Matrix server name (the part after `mxc://`): a DNS name, IPv4 or bracketed IPv6 address, with an optional
 * port, as the spec's grammar allows.
 */
export const serverNameSchema = z
  .string()
  .max(255)
  .regex(/^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'must be a Matrix server name');

/** A media id: the spec restricts it to `[A-Za-z0-9_-]`. */
export const mediaIdSchema = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a Matrix media id');

/** GET /api/chat/rooms/:roomId/files/:serverName/:mediaId: a file of a message, `mxc://<serverName>/<mediaId>`. */
export const roomFileParamsSchema = z.strictObject({
  roomId: roomIdSchema,
  serverName: serverNameSchema,
  mediaId: mediaIdSchema,
});

/** Where a file is in the media repository: `mxc://<serverName>/<mediaId>`. */
export interface MediaRef {
  serverName: string;
  mediaId: string;
}

/** `?thumbnail=1`: a scaled-down image (at most 640×480) instead of the original. */
export const fileQuerySchema = z.strictObject({
  thumbnail: z.enum(['0', '1']).optional(),
});
export type FileQuery = z.infer<typeof fileQuerySchema>;

/** POST /api/chat/rooms/:roomId/typing and the socket request `chat.typing`. */
export const typingSchema = z.strictObject({ typing: z.boolean() });

/** POST /api/chat/rooms/:roomId/files?name=: the raw file is the body, its type the Content-Type. */
export const uploadQuerySchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .refine(noControl, 'must not contain control characters')
    .refine((s) => !/[/\\]/.test(s), 'must be a file name, not a path'),
});

/** Who wrote a message: a directory colleague (with userId and extension) or any other Matrix user. */
export interface ChatSender {
  mxid: string;
  userId?: string;
  extension?: string;
  displayName: string;
}

export interface ChatFile {
  /** mxc:// URI in the Matrix media repository. */
  url: string;
  name: string;
  mimetype?: string;
  size?: number;
}

export interface ChatMessageView {
  roomId: string;
  eventId: string;
  sender: ChatSender;
  msgtype: string;
  body: string;
  /** HTML (org.matrix.custom.html), when the text had markup. */
  formattedBody?: string;
  ts: number;
  /** The event this one replies to. */
  replyTo?: string;
  /** Set on an edit: the event it replaces; `body` is the new text. */
  edits?: string;
  file?: ChatFile;
}

export interface ChatMemberView {
  mxid: string;
  userId?: string;
  extension?: string;
  displayName: string;
}

/**
 * A member's read receipt: they read the room up to `eventId`, at `ts` (ms). `userId` is set for directory
 * colleagues; a Matrix user outside the directory (on Element) has only `mxid`.
 */
export interface ChatRoomRead {
  userId?: string;
  mxid: string;
  eventId: string;
  ts: number;
}

/**
 * The socket event `chat.read`: a member of the room (the user themselves, or another) read it up to `eventId`.
 * `userId` is set for directory colleagues (always, for reads through our API); `mxid` for everyone.
 */
export interface ChatReadView {
  roomId: string;
  userId?: string;
  mxid: string;
  eventId: string;
  ts: number;
}

export interface ChatRoomView {
  roomId: string;
  kind: 'dm' | 'group';
  /** A group's name; for a 1:1 chat the other person's name. */
  name: string;
  topic?: string;
  members: ChatMemberView[];
  unread: number;
  lastActivityAt: number;
  lastMessage?: { eventId: string; sender: string; body: string; ts: number };
  /**
   * One entry per current member with a read receipt, made through our API or in another Matrix client (the
   * caller included): `eventId` and everything before it are read; so are messages with `ts` at or before the
   * entry's `ts`.
   */
  reads: ChatRoomRead[];
}

export interface ChatTypingView {
  roomId: string;
  user: ChatSender;
  typing: boolean;
}

/**
 * Who wrote in a meeting's in-call chat: a directory colleague (as themselves in Matrix), a guest (relayed by the
 * bridge's sender under their guest name), or any other member of the Matrix room (e.g. on Element).
 */
export interface MeetingChatSender {
  kind: 'user' | 'guest' | 'matrix';
  displayName: string;
  /** Directory users and Matrix members. */
  mxid?: string;
  /** Directory users. */
  userId?: string;
  /** Guests: their participant id in the meeting. */
  participantId?: string;
}

/** A message of a meeting's in-call chat (`meeting.chat.message`, `meeting.chat.history`). */
export interface MeetingChatMessageView {
  meetingId: string;
  eventId: string;
  sender: MeetingChatSender;
  /** What the person wrote (a guest's text without the "Nome (ospite): " prefix that Matrix clients show). */
  body: string;
  formattedBody?: string;
  ts: number;
}
