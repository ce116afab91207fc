import type {
  ChatMemberView,
  ChatMessageView,
  ChatReadView,
  ChatRoomRead,
  ChatRoomView,
  ChatTypingView,
} from '../../shared/schemas/chat.js';
import type { PublicUser } from '../../shared/schemas/directory.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import type { Clock } from '../clock.js';
import { toPublicUser, type UserModel } from '../directory/User.js';
import { NotFoundError, UnauthenticatedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NodeLock } from '../redis/RedisLock.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import type { SafeEmitter } from '../util/SafeEmitter.js';
import type { ChatModels, ChatReadReceipt, ChatRoom } from './chatModels.js';
import { isDuplicateKey } from '../db/duplicateKey.js';
import type { MatrixBridge } from './matrix/MatrixBridge.js';
import type { MessageRateLimit } from './MessageRateLimit.js';

/** What the chat tells users' sockets: each event names the directory users who get it. */
export interface ChatEvents {
  message: [userIds: string[], message: ChatMessageView];
  room: [userIds: string[], payload: { roomId: string }];
  typing: [userIds: string[], payload: ChatTypingView];
  read: [userIds: string[], payload: ChatReadView];
  /**
   * For the other server nodes (ClusterEvents), not for users: a typing change made through this node's API, and a
   * typing list Synapse pushed to this node. The others record them (ChatService.typingElsewhere) so that their
   * view of each room's typing is the same as this node's and nobody is told a change twice.
   */
  typingRecorded: [roomId: string, mxid: string, typing: boolean];
  typingPushed: [roomId: string, mxids: string[]];
}

/** What every part of the chat service shares. */
export interface ChatContext {
  bridge: MatrixBridge;
  models: ChatModels;
  users: UserModel;
  cache: RoomCache;
  events: SafeEmitter<ChatEvents>;
  rateLimit: MessageRateLimit;
  clock: Clock;
  logger: Logger;
}

/** The caller, as the chat knows them. */
export interface Me {
  user: PublicUser;
  mxid: string;
}

export type RoomDoc = Omit<ChatRoom, 'unread'> & { unread?: Record<string, number> };

/** What our API knows of a room it creates or learns. */
export interface RoomFields {
  kind: 'dm' | 'group';
  joined: string[];
  name?: string;
  topic?: string;
}

/**
 * The `chatrooms` cache (members, names, last message, unread counts) and the lookups every part of the chat
 * needs: who the caller is, which rooms they are in, how a room looks to them. Its writes are ordered per room.
 */
export class RoomCache {
  readonly #bridge: MatrixBridge;
  readonly #models: ChatModels;
  readonly #users: UserModel;
  readonly #clock: Clock;
  /** Writes of `chatrooms` documents, one at a time per room (see write). */
  readonly #writes = new KeyedSerial();
  readonly #nodeLock: NodeLock | undefined;

  constructor(options: {
    bridge: MatrixBridge;
    models: ChatModels;
    users: UserModel;
    clock: Clock;
    nodeLock?: NodeLock | undefined;
  }) {
    this.#bridge = options.bridge;
    this.#models = options.models;
    this.#users = options.users;
    this.#clock = options.clock;
    this.#nodeLock = options.nodeLock;
  }

  // --- who ---

  async me(auth: UserAuth): Promise<Me> {
    const doc = await this.#users.findById(auth.userId, { passwordHash: 0, preferences: 0 }).lean();
    if (!doc || doc.disabled) throw new UnauthenticatedError('This account is no longer active');
    const user = toPublicUser(doc);
    return { user, mxid: await this.#bridge.ensureUser(user) };
  }

  async colleague(id: string): Promise<PublicUser> {
    const doc = await this.#users.findById(id, { passwordHash: 0, preferences: 0 }).lean();
    if (!doc || doc.disabled) throw new NotFoundError('No such colleague');
    return toPublicUser(doc);
  }

  /** How the chat shows these mxids (see MatrixIdentities.identify). */
  async members(mxids: string[]): Promise<Map<string, ChatMemberView>> {
    return this.#bridge.identify(mxids);
  }

  /** One member, or the mxid itself when nothing is known of them. */
  async member(mxid: string): Promise<ChatMemberView> {
    return (await this.members([mxid])).get(mxid) ?? { mxid, displayName: mxid };
  }

  /** Directory user ids of the active colleagues among these mxids. */
  async directoryIds(mxids: string[]): Promise<string[]> {
    const identities = this.#bridge.identities;
    const extensions = [
      ...new Set(mxids.map((m) => identities.extensionOf(m)).filter((e) => e !== undefined)),
    ];
    if (extensions.length === 0) return [];
    const docs = await this.#users
      .find({ extension: { $in: extensions }, disabled: false }, { _id: 1 })
      .lean();
    return docs.map((d) => String(d._id));
  }

  // --- rooms ---

  async find(roomId: string): Promise<RoomDoc | null> {
    return this.#models.rooms.findOne({ roomId }).lean();
  }

  /** The room's joined members, or undefined when the cache does not know the room. */
  async joinedOf(roomId: string): Promise<string[] | undefined> {
    return (await this.#models.rooms.findOne({ roomId }, { joined: 1 }).lean())?.joined;
  }

  /** The room, when the caller is joined to it (and of the given kind); otherwise it does not exist for them. */
  async memberRoom(roomId: string, mxid: string, kind?: 'dm' | 'group'): Promise<RoomDoc> {
    const room = await this.find(roomId);
    if (!room?.joined.includes(mxid)) throw new NotFoundError('No such chat');
    if (kind && room.kind !== kind) {
      throw new ValidationError('Invalid request', [{ path: 'roomId', message: `not a ${kind} chat` }]);
    }
    return room;
  }

  /** The caller's rooms. */
  async roomsOf(mxid: string): Promise<RoomDoc[]> {
    return this.#models.rooms.find({ joined: mxid }).lean();
  }

  /**
   * Runs a write (or a read-then-write) of a room's cache document after every earlier one of that room. FerretDB
   * v1 applies an update by reading and rewriting the whole document, so two overlapping updates of one room
   * (a message's unread `$inc` and a read receipt's reset, two members added at once) would keep only one. This
   * orders writes within this process, and with several nodes across them too (a lock per room in Redis, taken by
   * this process's one waiting write of the room). Keep Matrix calls out of `write`: they would hold up the room.
   */
  write<T>(roomId: string, write: () => Promise<T>): Promise<T> {
    const lock = this.#nodeLock;
    return this.#writes.run(roomId, lock ? () => lock.run(`chatroom:${roomId}`, write) : write);
  }

  /** A plain update of the room's document, in the room's turn. */
  async update(roomId: string, update: object): Promise<void> {
    await this.write(roomId, () => this.#models.rooms.updateOne({ roomId }, update));
  }

  async upsert(roomId: string, fields: RoomFields): Promise<void> {
    await this.write(roomId, () => this.upsertNow(roomId, fields));
  }

  /** The upsert itself; only from within the room's turn of write(). */
  async upsertNow(roomId: string, fields: RoomFields): Promise<void> {
    const { joined, ...rest } = fields;
    await this.#models.rooms.updateOne(
      { roomId },
      {
        $set: rest,
        $addToSet: { joined: { $each: joined } },
        $setOnInsert: { lastActivityAt: new Date(this.#clock.now()), invited: [], unread: {} },
      },
      { upsert: true },
    );
  }

  // --- views ---

  async viewFor(roomId: string, me: Me): Promise<ChatRoomView> {
    const doc = await this.find(roomId);
    if (!doc) throw new NotFoundError('No such chat');
    return this.view(doc, me, (await this.reads([roomId])).get(roomId));
  }

  async view(doc: RoomDoc, me: Me, receipts: ChatReadReceipt[] = []): Promise<ChatRoomView> {
    const mxids = doc.joined.filter((m) => m !== this.#bridge.botMxid);
    const byMxid = await this.members(mxids);
    const members = mxids.map((m) => byMxid.get(m) ?? { mxid: m, displayName: m });
    const others = members.filter((m) => m.mxid !== me.mxid);
    const name =
      doc.kind === 'group'
        ? (doc.name ?? others.map((m) => m.displayName).join(', '))
        : (others[0]?.displayName ?? doc.name ?? '');
    const view: ChatRoomView = {
      roomId: doc.roomId,
      kind: doc.kind,
      name,
      members,
      unread: doc.unread?.[me.user.id] ?? 0,
      lastActivityAt: new Date(doc.lastActivityAt).getTime(),
      reads: readsOf(receipts, members),
    };
    if (doc.topic) view.topic = doc.topic;
    if (doc.lastMessage) {
      const { eventId, sender, body, ts } = doc.lastMessage;
      view.lastMessage = { eventId, sender, body, ts: new Date(ts).getTime() };
    }
    return view;
  }

  // --- read receipts ---

  /** The read receipts of these rooms, by room. */
  async reads(roomIds: string[]): Promise<Map<string, ChatReadReceipt[]>> {
    const byRoom = new Map<string, ChatReadReceipt[]>();
    if (roomIds.length === 0) return byRoom;
    const docs = await this.#models.reads.find({ roomId: { $in: roomIds } }).lean();
    for (const doc of docs) {
      const list = byRoom.get(doc.roomId) ?? [];
      list.push(doc);
      byRoom.set(doc.roomId, list);
    }
    return byRoom;
  }

  /** Records a user's receipt; when two of their devices create it at once, the loser updates the winner's. */
  async saveRead(receipt: ChatReadReceipt): Promise<void> {
    const { roomId, userId, eventId, at } = receipt;
    const save = (upsert: boolean) =>
      this.#models.reads.updateOne({ roomId, userId }, { $set: { eventId, at } }, { upsert });
    try {
      await save(true);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await save(false);
    }
  }
}

/**
 * The receipts of the room's current members, in the order of `members`: directory colleagues by their id,
 * Matrix users outside the directory by their mxid (and without a userId in the view).
 */
function readsOf(receipts: ChatReadReceipt[], members: ChatMemberView[]): ChatRoomRead[] {
  const byReader = new Map(receipts.map((r) => [r.userId, r]));
  const reads: ChatRoomRead[] = [];
  for (const { userId, mxid } of members) {
    const read = byReader.get(userId ?? mxid);
    if (!read) continue;
    const entry: ChatRoomRead = { mxid, eventId: read.eventId, ts: new Date(read.at).getTime() };
    reads.push(userId ? { userId, ...entry } : entry);
  }
  return reads;
}
