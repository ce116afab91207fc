import { Schema, type Connection, type Model } from 'mongoose';

/**
 * What the chat keeps in our database. Messages live only in Matrix; these are mappings and caches that the
 * bridge rebuilds from Matrix events (membership, names, last message) or that record a decision once (which
 * room is the DM of a pair, which transaction was already handled).
 */

/**
 * An appservice transaction, claimed while it is handled and marked done once it was: a replay of a done one, even
 * after a restart, is acknowledged and ignored; a pending one whose owner stopped (crashed) mid-way is taken over
 * by Synapse's retry once its lease ran out.
 */
export interface ChatTxn {
  /** `<txnId>:<digest of its event ids>` (Synapse may reuse a txnId for new events after it restarts). */
  _id: string;
  /** Absent on documents from before the pending state existed: those were all done. */
  state?: 'pending' | 'done';
  /** The process handling a pending transaction (a random id per bridge). */
  owner?: string;
  /** When it was claimed (pending) or finished (done). */
  at: Date;
}

/**
 * A room event every inbound handler has finished with: a transaction handled again (taken over after a crash,
 * or the same events under another txnId) skips it, so unread counts and notifications happen once per event.
 */
export interface ChatHandledEvent {
  /** The Matrix event id. */
  _id: string;
  at: Date;
}

/** A directory user's Matrix account as provisioned by the bridge (user ↔ mxid, and what was last set). */
export interface ChatUser {
  userId: string;
  mxid: string;
  displayName: string;
  /** The directory avatar URL last uploaded, and its mxc:// URI. */
  avatarSource?: string;
  avatarMxc?: string;
}

/** The one DM room of a pair of directory users; `pairKey` is the two user ids sorted and joined. */
export interface ChatDm {
  pairKey: string;
  userIds: string[];
  roomId: string;
}

/** A cache of a room's state, kept current from the events Synapse pushes (and optimistically by our calls). */
export interface ChatRoom {
  roomId: string;
  kind: 'dm' | 'group';
  name?: string;
  topic?: string;
  joined: string[];
  invited: string[];
  lastActivityAt: Date;
  lastMessage?: { eventId: string; sender: string; body: string; ts: Date };
  /** Unread messages per directory user id, reset by a read receipt. */
  unread: Map<string, number>;
}

/**
 * A member's last read receipt in a room: the event, and when. Posted through our API (our clock) or pushed by
 * Synapse from another Matrix client (the homeserver's time of the receipt).
 *
 * One document per room and user rather than a map in the room's cache: FerretDB v1 applies an update by reading
 * and rewriting the whole document, so concurrent updates of one document lose writes (measured: 25 parallel
 * `$set`s of distinct keys kept 6). A receipt would race with the message that prompted it; here each user
 * writes only their own document.
 */
export interface ChatReadReceipt {
  roomId: string;
  /**
   * The reader: a directory user's id, or the mxid of a Matrix user outside the directory (an mxid starts with
   * `@`, an id never does, so the two cannot collide under the unique index).
   */
  userId: string;
  eventId: string;
  at: Date;
}

/**
 * The Matrix room of a meeting's in-call chat (also reachable as `#ucc_meeting_<meetingId>`), owned by the
 * bridge's sender. `joined` caches which directory participants' accounts were already brought in.
 */
export interface ChatMeetingRoom {
  meetingId: string;
  roomId: string;
  joined: string[];
}

/**
 * A file (media id) that a message in a room refers to. Matrix ties media to no room, so this is what lets a
 * download through a room serve only that room's files: recorded when our API posts the file and when any
 * message with an `mxc://` URL arrives in the room. One document per room and file (no array in the room's
 * document, which FerretDB rewrites whole and which would grow without bound).
 */
export interface ChatMedia {
  roomId: string;
  /** `<serverName>/<mediaId>`, the mxc:// URI without its scheme. */
  media: string;
  at: Date;
}

export interface ChatModels {
  txns: Model<ChatTxn>;
  handledEvents: Model<ChatHandledEvent>;
  users: Model<ChatUser>;
  dms: Model<ChatDm>;
  rooms: Model<ChatRoom>;
  reads: Model<ChatReadReceipt>;
  meetingRooms: Model<ChatMeetingRoom>;
  media: Model<ChatMedia>;
}

const txnSchema = new Schema<ChatTxn>({
  _id: { type: String, required: true },
  state: { type: String, enum: ['pending', 'done'] },
  owner: String,
  at: { type: Date, required: true },
});
txnSchema.index({ at: 1 });

const handledEventSchema = new Schema<ChatHandledEvent>({
  _id: { type: String, required: true },
  at: { type: Date, required: true },
});
handledEventSchema.index({ at: 1 });

const userSchema = new Schema<ChatUser>({
  userId: { type: String, required: true },
  mxid: { type: String, required: true },
  displayName: { type: String, required: true },
  avatarSource: String,
  avatarMxc: String,
});
userSchema.index({ userId: 1 }, { unique: true });
userSchema.index({ mxid: 1 }, { unique: true });

const dmSchema = new Schema<ChatDm>({
  pairKey: { type: String, required: true },
  userIds: { type: [String], required: true },
  roomId: { type: String, required: true },
});
// One DM room per pair: the invariant lives in the database.
dmSchema.index({ pairKey: 1 }, { unique: true });

const roomSchema = new Schema<ChatRoom>({
  roomId: { type: String, required: true },
  kind: { type: String, enum: ['dm', 'group'], required: true },
  name: String,
  topic: String,
  joined: { type: [String], default: [] },
  invited: { type: [String], default: [] },
  lastActivityAt: { type: Date, required: true },
  lastMessage: {
    type: new Schema({ eventId: String, sender: String, body: String, ts: Date }, { _id: false }),
    default: undefined,
  },
  unread: { type: Map, of: Number, default: {} },
});
roomSchema.index({ roomId: 1 }, { unique: true });
roomSchema.index({ joined: 1 });

const readSchema = new Schema<ChatReadReceipt>({
  roomId: { type: String, required: true },
  userId: { type: String, required: true },
  eventId: { type: String, required: true },
  at: { type: Date, required: true },
});
readSchema.index({ roomId: 1, userId: 1 }, { unique: true });

const meetingRoomSchema = new Schema<ChatMeetingRoom>({
  meetingId: { type: String, required: true },
  roomId: { type: String, required: true },
  joined: { type: [String], default: [] },
});
// One room per meeting, and a room belongs to one meeting.
meetingRoomSchema.index({ meetingId: 1 }, { unique: true });
meetingRoomSchema.index({ roomId: 1 }, { unique: true });

const mediaSchema = new Schema<ChatMedia>({
  roomId: { type: String, required: true },
  media: { type: String, required: true },
  at: { type: Date, required: true },
});
mediaSchema.index({ roomId: 1, media: 1 }, { unique: true });

function model<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}

export async function chatModels(connection: Connection): Promise<ChatModels> {
  const models: ChatModels = {
    txns: model(connection, 'ChatTxn', txnSchema),
    handledEvents: model(connection, 'ChatHandledEvent', handledEventSchema),
    users: model(connection, 'ChatUser', userSchema),
    dms: model(connection, 'ChatDm', dmSchema),
    rooms: model(connection, 'ChatRoom', roomSchema),
    reads: model(connection, 'ChatReadReceipt', readSchema),
    meetingRooms: model(connection, 'ChatMeetingRoom', meetingRoomSchema),
    media: model(connection, 'ChatMedia', mediaSchema),
  };
  await Promise.all(Object.values(models).map((m: Model<unknown>) => m.init()));
  return models;
}
