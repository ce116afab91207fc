import { randomUUID } from 'node:crypto';
import { Method, Preset } from 'matrix-js-sdk';
import type {
  AddMembersRequest,
  ChatMemberView,
  ChatMessageView,
  ChatReadView,
  ChatRoomRead,
  ChatRoomView,
  ChatTypingView,
  CreateGroupRequest,
  EditMessageRequest,
  HistoryQuery,
  MediaRef,
  SendMessageRequest,
  UpdateGroupRequest,
} from '../../shared/schemas/chat.js';
import type { PublicUser } from '../../shared/schemas/directory.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import type { Clock } from '../clock.js';
import { toPublicUser, type UserModel } from '../directory/User.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import type { ChatModels, ChatReadReceipt, ChatRoom } from './chatModels.js';
import { renderMarkdown } from './markdown.js';
import type { MessageRateLimit } from './MessageRateLimit.js';
import {
  asRecord,
  enc,
  isRoomEvent,
  MatrixBridge,
  type MatrixEphemeral,
  type MatrixReceipt,
  type MatrixRoomEvent,
  type MediaDownload,
} from './MatrixBridge.js';
import { TypingState, type TypingChange } from './TypingState.js';

/** How the chat reaches users' sockets (bound to the signaling server by the composition root). */
export interface ChatNotifier {
  message: (userIds: string[], message: ChatMessageView) => void;
  room: (userIds: string[], payload: { roomId: string }) => void;
  typing: (userIds: string[], payload: ChatTypingView) => void;
  read: (userIds: string[], payload: ChatReadView) => void;
}

export interface ChatServiceOptions {
  bridge: MatrixBridge;
  models: ChatModels;
  users: UserModel;
  notify: ChatNotifier;
  /** Shared with the meeting chat: a user's messages count together wherever they are sent. */
  rateLimit: MessageRateLimit;
  clock: Clock;
  logger: Logger;
}

interface Me {
  user: PublicUser;
  mxid: string;
}

type RoomDoc = Omit<ChatRoom, 'unread'> & { unread?: Record<string, number> };

/** What our API knows of a room it creates or learns. */
interface RoomFields {
  kind: 'dm' | 'group';
  joined: string[];
  name?: string;
  topic?: string;
}

const TYPING_TIMEOUT_MS = 30_000;
/**
 * How often the members are reminded of someone typing in another client. Synapse pushes a typing list only when
 * it changes, while our web client drops a typing notice after 6 s without a refresh (its own refresh every 3 s).
 */
const TYPING_RELAY_MS = 3_000;
/** How long a receipt posted through our API waits for Synapse to push it back (it does not when nothing moved). */
const OWN_RECEIPT_TTL_MS = 60_000;

/**
 * Rooms and messages. Every message lives in Matrix: sending goes to Synapse as the user, and what users see in
 * realtime comes back through the bridge's transactions, fanned out here to the sockets of the room's directory
 * members. Our database only caches room state (members, names, last message, unread counts) from those events.
 */
export class ChatService {
  readonly #o: ChatServiceOptions;
  readonly #bridge: MatrixBridge;
  readonly #logger: Logger;
  /** DM creations, one at a time per pair (keyed by the sorted pair of user ids). */
  readonly #dmOpens = new KeyedSerial();
  /** Writes of `chatrooms` documents, one at a time per room (see #writeRoom). */
  readonly #roomWrites = new KeyedSerial();
  /** Who each room's members were told is typing (see TypingState). */
  readonly #typing: TypingState;
  /**
   * Receipts just posted through our API (`<roomId> <mxid> <eventId>`, until when they are expected), so that
   * Synapse pushing them back is not taken for a read in another client. In this process only, like #writeRoom.
   */
  readonly #ownReceipts = new Map<string, number>();
  /** Rooms with a reminder of their Element typers scheduled (see TYPING_RELAY_MS). */
  readonly #typingReminders = new Set<string>();

  constructor(options: ChatServiceOptions) {
    this.#o = options;
    this.#bridge = options.bridge;
    this.#logger = options.logger;
    this.#typing = new TypingState(options.clock, TYPING_TIMEOUT_MS);
    this.#bridge.onEvents((events) => this.#inbound(events));
    this.#bridge.onEphemeral((events) => this.#inboundEphemeral(events));
  }

  // --- rooms ---

  /** Finds or creates the DM room of the caller and a colleague; `created` tells which. */
  async openDm(auth: UserAuth, otherId: string): Promise<{ room: ChatRoomView; created: boolean }> {
    if (otherId === auth.userId) {
      throw new ValidationError('Invalid request', [
        { path: 'userId', message: 'cannot chat with yourself' },
      ]);
    }
    const me = await this.#me(auth);
    const other = await this.#colleague(otherId);
    const otherMxid = await this.#bridge.ensureUser(other);
    const pairKey = [auth.userId, otherId].sort().join('|');
    // One creation at a time per pair in this process; the unique index covers other processes.
    return this.#dmOpens.run(pairKey, () => this.#openDmLocked(me, otherMxid, pairKey));
  }

  async #openDmLocked(
    me: Me,
    otherMxid: string,
    pairKey: string,
  ): Promise<{ room: ChatRoomView; created: boolean }> {
    const existing = await this.#o.models.dms.findOne({ pairKey }).lean();
    if (existing && (await this.#rejoinDm(existing.roomId, me.mxid, otherMxid))) {
      return { room: await this.#viewFor(existing.roomId, me), created: false };
    }
    const { room_id: roomId } = await this.#bridge.call(() =>
      this.#bridge.client(me.mxid).createRoom({
        is_direct: true,
        preset: Preset.TrustedPrivateChat,
        invite: [otherMxid],
      }),
    );
    await this.#join(otherMxid, roomId);
    await this.#upsertRoom(roomId, { kind: 'dm', joined: [me.mxid, otherMxid] });
    await Promise.all([
      this.#addDirect(me.mxid, otherMxid, roomId),
      this.#addDirect(otherMxid, me.mxid, roomId),
    ]);
    const userIds = pairKey.split('|');
    if (existing) {
      await this.#o.models.dms.updateOne({ pairKey }, { $set: { roomId } });
    } else {
      try {
        await this.#o.models.dms.create({ pairKey, userIds, roomId });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another instance won the race: use its room and leave ours.
        const winner = await this.#o.models.dms.findOne({ pairKey }).lean();
        await Promise.allSettled([me.mxid, otherMxid].map((m) => this.#bridge.client(m).leave(roomId)));
        if (winner) return { room: await this.#viewFor(winner.roomId, me), created: false };
        throw err;
      }
    }
    this.#o.notify.room(userIds, { roomId });
    return { room: await this.#viewFor(roomId, me), created: true };
  }

  /** Brings both people back into an existing DM (one may have left); false when the room is beyond repair. */
  async #rejoinDm(roomId: string, mine: string, theirs: string): Promise<boolean> {
    const room = await this.#o.models.rooms.findOne({ roomId }).lean();
    const joined = new Set(room?.joined ?? []);
    if (joined.has(mine) && joined.has(theirs)) return true;
    const inviter = joined.has(mine) ? mine : joined.has(theirs) ? theirs : undefined;
    if (!inviter) return false;
    const missing = inviter === mine ? theirs : mine;
    try {
      await this.#bridge.request(inviter, Method.Post, `/rooms/${enc(roomId)}/invite`, undefined, {
        user_id: missing,
      });
      await this.#join(missing, roomId);
      return true;
    } catch (err) {
      if (err instanceof ForbiddenError || err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** "Inizia chat di gruppo": the caller and at least two colleagues; the description becomes the topic. */
  async createGroup(auth: UserAuth, req: CreateGroupRequest): Promise<ChatRoomView> {
    if (req.memberIds.includes(auth.userId)) {
      throw new ValidationError('Invalid request', [
        { path: 'memberIds', message: 'must not include yourself' },
      ]);
    }
    const me = await this.#me(auth);
    const members = await Promise.all(req.memberIds.map((id) => this.#colleague(id)));
    const mxids = await Promise.all(members.map((u) => this.#bridge.ensureUser(u)));
    const bot = this.#bridge.botMxid;
    const { room_id: roomId } = await this.#bridge.call(() =>
      this.#bridge.client(me.mxid).createRoom({
        name: req.name,
        ...(req.description ? { topic: req.description } : {}),
        preset: Preset.PrivateChat,
        invite: [...mxids, bot],
        // The bridge's sender administers the group (kick, rename) for whichever member asks. The creator
        // already ranks above everyone (and, from room version 12, must not be listed).
        power_level_content_override: { users: { [bot]: 100 } },
      }),
    );
    await Promise.all([...mxids, bot].map((m) => this.#join(m, roomId)));
    await this.#upsertRoom(roomId, {
      kind: 'group',
      name: req.name,
      ...(req.description ? { topic: req.description } : {}),
      joined: [me.mxid, ...mxids, bot],
    });
    this.#o.notify.room([auth.userId, ...req.memberIds], { roomId });
    return this.#viewFor(roomId, me);
  }

  async updateGroup(auth: UserAuth, roomId: string, req: UpdateGroupRequest): Promise<ChatRoomView> {
    const me = await this.#me(auth);
    const room = await this.#memberRoom(roomId, me.mxid, 'group');
    const admin = this.#adminOf(room, me.mxid);
    const client = this.#bridge.client(admin);
    const set: Partial<ChatRoom> = {};
    if (req.name !== undefined) {
      await this.#bridge.call(() => client.setRoomName(roomId, req.name ?? ''));
      set.name = req.name;
    }
    if (req.description !== undefined) {
      await this.#bridge.call(() => client.setRoomTopic(roomId, req.description));
      set.topic = req.description;
    }
    await this.#writeRoom(roomId, () => this.#o.models.rooms.updateOne({ roomId }, { $set: set }));
    this.#o.notify.room(await this.#directoryIds(room.joined), { roomId });
    return this.#viewFor(roomId, me);
  }

  async addMembers(auth: UserAuth, roomId: string, req: AddMembersRequest): Promise<ChatRoomView> {
    const me = await this.#me(auth);
    const room = await this.#memberRoom(roomId, me.mxid, 'group');
    const admin = this.#adminOf(room, me.mxid);
    const users = await Promise.all(req.userIds.map((id) => this.#colleague(id)));
    for (const user of users) {
      const mxid = await this.#bridge.ensureUser(user);
      if (room.joined.includes(mxid)) continue;
      await this.#bridge.request(admin, Method.Post, `/rooms/${enc(roomId)}/invite`, undefined, {
        user_id: mxid,
      });
      await this.#join(mxid, roomId);
      await this.#writeRoom(roomId, () =>
        this.#o.models.rooms.updateOne({ roomId }, { $addToSet: { joined: mxid }, $pull: { invited: mxid } }),
      );
    }
    this.#o.notify.room([...(await this.#directoryIds(room.joined)), ...req.userIds], { roomId });
    return this.#viewFor(roomId, me);
  }

  async removeMember(auth: UserAuth, roomId: string, userId: string): Promise<ChatRoomView> {
    if (userId === auth.userId) {
      throw new ValidationError('Invalid request', [{ path: 'userId', message: 'leave the chat instead' }]);
    }
    const me = await this.#me(auth);
    const room = await this.#memberRoom(roomId, me.mxid, 'group');
    const target = await this.#o.users.findById(userId, { extension: 1 }).lean();
    const mxid = target ? this.#bridge.mxidOf(target.extension) : undefined;
    if (!mxid || !room.joined.includes(mxid)) throw new NotFoundError('Not a member of this chat');
    await this.#bridge.call(() => this.#bridge.client(this.#adminOf(room, me.mxid)).kick(roomId, mxid));
    await this.#writeRoom(roomId, () =>
      this.#o.models.rooms.updateOne({ roomId }, { $pull: { joined: mxid, invited: mxid } }),
    );
    this.#o.notify.room(await this.#directoryIds(room.joined), { roomId });
    return this.#viewFor(roomId, me);
  }

  async leave(auth: UserAuth, roomId: string): Promise<void> {
    const me = await this.#me(auth);
    const room = await this.#memberRoom(roomId, me.mxid);
    await this.#bridge.call(() => this.#bridge.client(me.mxid).leave(roomId));
    await this.#writeRoom(roomId, () =>
      this.#o.models.rooms.updateOne({ roomId }, { $pull: { joined: me.mxid, invited: me.mxid } }),
    );
    this.#o.notify.room(await this.#directoryIds(room.joined), { roomId });
  }

  /** The caller's rooms: unread ones first, then by last activity. */
  async listRooms(auth: UserAuth): Promise<ChatRoomView[]> {
    const me = await this.#me(auth);
    const docs = (await this.#o.models.rooms.find({ joined: me.mxid }).lean()) as RoomDoc[];
    const reads = await this.#reads(docs.map((d) => d.roomId));
    const views = await Promise.all(docs.map((doc) => this.#view(doc, me, reads.get(doc.roomId))));
    return views.sort(
      (a, b) => Number(b.unread > 0) - Number(a.unread > 0) || b.lastActivityAt - a.lastActivityAt,
    );
  }

  async getRoom(auth: UserAuth, roomId: string): Promise<ChatRoomView> {
    const me = await this.#me(auth);
    await this.#memberRoom(roomId, me.mxid);
    return this.#viewFor(roomId, me);
  }

  // --- messages ---

  /** Newest first; pass `next` as `from` for older messages. */
  async history(
    auth: UserAuth,
    roomId: string,
    query: HistoryQuery,
  ): Promise<{ items: ChatMessageView[]; next?: string }> {
    const me = await this.#me(auth);
    await this.#memberRoom(roomId, me.mxid);
    const params: Record<string, string> = {
      dir: 'b',
      limit: String(query.limit),
      filter: JSON.stringify({ types: ['m.room.message'] }),
    };
    if (query.from) params.from = query.from;
    const page = await this.#bridge.request<{ chunk: unknown[]; end?: string }>(
      me.mxid,
      Method.Get,
      `/rooms/${enc(roomId)}/messages`,
      params,
    );
    const events = page.chunk.filter(isRoomEvent).filter((e) => e.type === 'm.room.message');
    const senders = await this.#members([...new Set(events.map((e) => e.sender))]);
    const items = events
      .map((e) => toMessageView(e, senders.get(e.sender) ?? { mxid: e.sender, displayName: e.sender }))
      .filter((m): m is ChatMessageView => m !== undefined);
    return page.end && page.chunk.length > 0 ? { items, next: page.end } : { items };
  }

  async send(auth: UserAuth, roomId: string, req: SendMessageRequest): Promise<{ eventId: string }> {
    await this.#o.rateLimit.take(userRateKey(auth.userId));
    const me = await this.#me(auth);
    await this.#memberRoom(roomId, me.mxid);
    const content: Record<string, unknown> = textContent(req.body);
    if (req.replyTo) content['m.relates_to'] = { 'm.in_reply_to': { event_id: req.replyTo } };
    return this.#sendEvent(me.mxid, roomId, content, req.clientTxnId);
  }

  /** An edit of one's own message (`m.replace`); others' messages cannot be edited. */
  async edit(
    auth: UserAuth,
    roomId: string,
    eventId: string,
    req: EditMessageRequest,
  ): Promise<{ eventId: string }> {
    await this.#o.rateLimit.take(userRateKey(auth.userId));
    const me = await this.#me(auth);
    await this.#memberRoom(roomId, me.mxid);
    const original = await this.#bridge.request<{ sender?: string; type?: string }>(
      me.mxid,
      Method.Get,
      `/rooms/${enc(roomId)}/event/${enc(eventId)}`,
    );
    if (original.sender !== me.mxid || original.type !== 'm.room.message') {
      throw new ForbiddenError('Only your own messages can be edited');
    }
    return this.#sendEvent(me.mxid, roomId, editContent(req.body, eventId));
  }

  /** A file or image through the Matrix media repository, then an m.file / m.image message. */
  async upload(
    auth: UserAuth,
    roomId: string,
    file: { data: Uint8Array; type: string; name: string },
  ): Promise<{ eventId: string; url: string }> {
    await this.#o.rateLimit.take(userRateKey(auth.userId));
    const me = await this.#me(auth);
    await this.#memberRoom(roomId, me.mxid);
    const { content_uri: url } = await this.#bridge.call(() =>
      this.#bridge.client(me.mxid).uploadContent(file.data, { type: file.type, name: file.name }),
    );
    const msgtype = file.type.startsWith('image/') ? 'm.image' : 'm.file';
    const sent = await this.#sendEvent(me.mxid, roomId, {
      msgtype,
      body: file.name,
      filename: file.name,
      url,
      info: { mimetype: file.type, size: file.data.byteLength },
    });
    // Now, not only when Synapse pushes the message back: the sender's client fetches it at once.
    await this.#recordMedia(roomId, [url]);
    return { ...sent, url };
  }

  /**
   * A file of a room's messages (`mxc://<serverName>/<mediaId>`), downloaded as the caller. Matrix ties media to
   * no room, so two checks: the caller is a member of the room named, and the file is one that a message of that
   * room carries (see #recordMedia). Only our homeserver's media is served: federation is off, so any other
   * server's would fail anyway.
   */
  async file(
    auth: UserAuth,
    roomId: string,
    media: MediaRef,
    options: { thumbnail: boolean; signal?: AbortSignal },
  ): Promise<MediaDownload> {
    const me = await this.#me(auth);
    await this.#memberRoom(roomId, me.mxid);
    if (media.serverName !== this.#bridge.serverName) throw new NotFoundError('No such file');
    // The file must be one of this room's messages: a media id seen elsewhere (another room, a DM the caller is
    // not in) is not served through this room, whatever Synapse would allow.
    if (!(await this.#isRoomMedia(roomId, me.mxid, media))) throw new NotFoundError('No such file');
    return this.#bridge.download(me.mxid, media, options);
  }

  /**
   * A read receipt up to `eventId`: the caller's unread count of the room goes back to 0, and every member's
   * sockets (the caller's other devices, and the others for their "Letto") learn who read what, and when.
   */
  async markRead(auth: UserAuth, roomId: string, eventId: string): Promise<void> {
    const me = await this.#me(auth);
    const room = await this.#memberRoom(roomId, me.mxid);
    // Expected before the call: Synapse may push the receipt back before the call returns.
    const own = this.#expectOwnReceipt(roomId, me.mxid, eventId);
    try {
      await this.#bridge.request(
        me.mxid,
        Method.Post,
        `/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`,
        undefined,
        {},
      );
    } catch (err) {
      this.#ownReceipts.delete(own);
      throw err;
    }
    const at = new Date(this.#o.clock.now());
    await this.#saveRead({ roomId, userId: auth.userId, eventId, at });
    await this.#writeRoom(roomId, () =>
      this.#o.models.rooms.updateOne({ roomId }, { $set: { [`unread.${auth.userId}`]: 0 } }),
    );
    const recipients = new Set(await this.#directoryIds(room.joined)).add(auth.userId);
    this.#o.notify.read([...recipients], {
      roomId,
      userId: auth.userId,
      mxid: me.mxid,
      eventId,
      ts: at.getTime(),
    });
  }

  async typing(auth: UserAuth, roomId: string, typing: boolean): Promise<void> {
    const me = await this.#me(auth);
    const room = await this.#memberRoom(roomId, me.mxid);
    // Recorded before the call, since Synapse's echo of it may arrive first and must not be told again.
    const undo = this.#typing.set(roomId, me.mxid, typing);
    try {
      await this.#bridge.call(() =>
        this.#bridge.client(me.mxid).sendTyping(roomId, typing, typing ? TYPING_TIMEOUT_MS : 0),
      );
    } catch (err) {
      undo();
      throw err;
    }
    const others = (await this.#directoryIds(room.joined)).filter((id) => id !== auth.userId);
    const sender = (await this.#members([me.mxid])).get(me.mxid) ?? { mxid: me.mxid, displayName: me.mxid };
    this.#o.notify.typing(others, { roomId, user: sender, typing });
  }

  // --- inbound: events Synapse pushed to the bridge ---

  async #inbound(events: MatrixRoomEvent[]): Promise<void> {
    for (const event of events) {
      switch (event.type) {
        case 'm.room.message':
          await this.#onMessage(event);
          break;
        case 'm.room.member':
          await this.#onMember(event);
          break;
        case 'm.room.name':
        case 'm.room.topic':
          await this.#onNameOrTopic(event);
          break;
        default:
          break;
      }
    }
  }

  async #onMessage(event: MatrixRoomEvent): Promise<void> {
    const room = (await this.#o.models.rooms.findOne({ roomId: event.room_id }).lean()) as RoomDoc | null;
    if (!room) {
      this.#logger.debug({ roomId: event.room_id }, 'message in a room the bridge does not know');
      return;
    }
    const sender = (await this.#members([event.sender])).get(event.sender) ?? {
      mxid: event.sender,
      displayName: event.sender,
    };
    const view = toMessageView(event, sender);
    if (!view) return;
    await this.#recordMedia(event.room_id, mediaUrlsOf(event.content));
    const recipients = await this.#directoryIds(room.joined);
    if (!view.edits) {
      const inc: Record<string, number> = {};
      for (const id of recipients) if (id !== sender.userId) inc[`unread.${id}`] = 1;
      const ts = new Date(event.origin_server_ts);
      await this.#writeRoom(event.room_id, () =>
        this.#o.models.rooms.updateOne(
          { roomId: event.room_id },
          {
            $set: {
              lastActivityAt: ts,
              lastMessage: { eventId: event.event_id, sender: sender.displayName, body: view.body, ts },
            },
            ...(Object.keys(inc).length > 0 ? { $inc: inc } : {}),
          },
        ),
      );
    }
    this.#o.notify.message(recipients, view);
  }

  async #onMember(event: MatrixRoomEvent): Promise<void> {
    const target = event.state_key;
    if (target === undefined) return;
    const membership = typeof event.content.membership === 'string' ? event.content.membership : '';
    const displayName = event.content.displayname;
    if (typeof displayName === 'string' && displayName !== '') {
      this.#bridge.rememberDisplayName(target, displayName);
    }
    const roomId = event.room_id;
    let update: object;
    if (membership === 'join') update = { $addToSet: { joined: target }, $pull: { invited: target } };
    else if (membership === 'invite') update = { $addToSet: { invited: target } };
    else if (membership === 'leave' || membership === 'ban')
      update = { $pull: { joined: target, invited: target } };
    else return;

    // Checked and written in one turn of the room's queue, so that a room created meanwhile by our own API (with
    // its kind) is not overwritten by the guess below.
    const known = await this.#writeRoom(roomId, async () => {
      if (!(await this.#o.models.rooms.exists({ roomId }))) {
        if (membership !== 'invite' && membership !== 'join') return false;
        if (!this.#bridge.isBridged(target)) return false;
        // Rooms the bridge's sender sets up are ours and recorded by whoever created them (meeting chats live in
        // their own collection); only rooms someone outside the bridge brought a colleague into are learned here.
        if (event.sender === this.#bridge.botMxid) return false;
        if (await this.#o.models.meetingRooms.exists({ roomId })) return false;
        await this.#upsertRoomNow(roomId, {
          kind: event.content.is_direct === true ? 'dm' : 'group',
          joined: [],
        });
      }
      // A joined member cannot be invited: an invite for someone already joined is older than the join we wrote
      // optimistically, and must not undo it.
      const filter = membership === 'invite' ? { roomId, joined: { $ne: target } } : { roomId };
      await this.#o.models.rooms.updateOne(filter, update);
      return true;
    });
    if (!known) return;

    // Someone outside the bridge (an Element user) invited one of our colleagues: accept on their behalf.
    if (membership === 'invite' && !this.#bridge.isBridged(event.sender) && target !== this.#bridge.botMxid) {
      const extension = this.#bridge.extensionOf(target);
      const active = extension ? await this.#o.users.exists({ extension, disabled: false }) : null;
      if (active) {
        this.#join(target, roomId)
          .then(() => this.#learnMembers(roomId, target))
          .catch((err: unknown) => {
            this.#logger.warn({ roomId, err: String(err) }, 'auto-join of an invited colleague failed');
          });
      }
    }
    const room = await this.#o.models.rooms.findOne({ roomId }, { joined: 1 }).lean();
    this.#o.notify.room(await this.#directoryIds([...(room?.joined ?? []), target]), { roomId });
  }

  /** Typing and receipts, from our own users' API calls (echoes) and from other Matrix clients. */
  async #inboundEphemeral(events: MatrixEphemeral[]): Promise<void> {
    for (const event of events) {
      if (event.type === 'm.typing') await this.#onTyping(event.roomId, event.userIds);
      else await this.#onReceipts(event.roomId, event.receipts);
    }
  }

  /** A room's list of who is typing now: its directory members are told who started or stopped. */
  async #onTyping(roomId: string, userIds: string[]): Promise<void> {
    const room = await this.#o.models.rooms.findOne({ roomId }, { joined: 1 }).lean();
    if (!room) return;
    const changes = this.#typing.push(
      roomId,
      userIds.filter((m) => m !== this.#bridge.botMxid),
    );
    if (changes.length === 0) return;
    await this.#tellTyping(roomId, room.joined, changes);
    this.#remindTyping(roomId);
  }

  /**
   * Tells a room's directory members, each typer excepted, who started or stopped typing. A change that no longer
   * holds once the names are looked up (a stop through our API meanwhile) is not told: it would undo a newer one.
   */
  async #tellTyping(roomId: string, joined: string[], changes: TypingChange[]): Promise<void> {
    const [recipients, who] = await Promise.all([
      this.#directoryIds(joined),
      this.#members(changes.map((c) => c.mxid)),
    ]);
    for (const { mxid, typing } of changes) {
      if (this.#typing.isTyping(roomId, mxid) !== typing) continue;
      const user = who.get(mxid) ?? { mxid, displayName: mxid };
      this.#o.notify.typing(
        recipients.filter((id) => id !== user.userId),
        { roomId, user, typing },
      );
    }
  }

  /** While Synapse lists typers in a room that only it knows of, tells them again every TYPING_RELAY_MS. */
  #remindTyping(roomId: string): void {
    if (this.#typingReminders.has(roomId) || this.#typing.relayed(roomId).length === 0) return;
    this.#typingReminders.add(roomId);
    this.#o.clock.setTimer(TYPING_RELAY_MS, () => {
      this.#typingReminders.delete(roomId);
      const typers = this.#typing.relayed(roomId);
      if (typers.length === 0) return;
      this.#o.models.rooms
        .findOne({ roomId }, { joined: 1 })
        .lean()
        .then(async (room) => {
          if (!room) return;
          await this.#tellTyping(
            roomId,
            room.joined,
            typers.map((mxid) => ({ mxid, typing: true })),
          );
          this.#remindTyping(roomId);
        })
        .catch((err: unknown) => {
          this.#logger.warn({ roomId, err: String(err) }, 'typing reminder failed');
        });
    });
  }

  /**
   * Read receipts from Synapse. A colleague's receipt made in another client (Element) counts as markRead does,
   * without posting it back: their receipt is recorded, their unread count reset, and every member told. A
   * Matrix user outside the directory is recorded under their mxid and shown in `reads` with no userId. A private
   * receipt (`m.read.private`, which Synapse sends us for our own users only) resets the reader's own count and
   * reaches only their devices. Receipts in a thread are left out: they do not read the room's main timeline.
   */
  async #onReceipts(roomId: string, receipts: MatrixReceipt[]): Promise<void> {
    const room = await this.#o.models.rooms.findOne({ roomId }, { joined: 1 }).lean();
    if (!room) return;
    const newest = new Map<string, MatrixReceipt>();
    for (const r of receipts) {
      if (r.receiptType !== 'm.read' && r.receiptType !== 'm.read.private') continue;
      if (r.threadId !== undefined && r.threadId !== 'main') continue;
      if (r.userId === this.#bridge.botMxid) continue;
      const key = `${r.receiptType} ${r.userId}`;
      const seen = newest.get(key);
      if (!seen || (r.ts ?? 0) > (seen.ts ?? 0)) newest.set(key, r);
    }
    const fresh = [...newest.values()].filter(
      (r) => !(r.receiptType === 'm.read' && this.#isOwnReceipt(roomId, r.userId, r.eventId)),
    );
    if (fresh.length === 0) return;
    const [readers, members] = await Promise.all([
      this.#members(fresh.map((r) => r.userId)),
      this.#directoryIds(room.joined),
    ]);
    for (const r of fresh) {
      const userId = readers.get(r.userId)?.userId;
      const ts = r.ts ?? this.#o.clock.now();
      const view: ChatReadView = { roomId, mxid: r.userId, eventId: r.eventId, ts };
      if (userId) view.userId = userId;
      if (r.receiptType === 'm.read.private') {
        if (!userId) continue;
        await this.#resetUnread(roomId, userId, r.eventId, ts);
        this.#o.notify.read([userId], view);
        continue;
      }
      const reader = userId ?? r.userId;
      const known = await this.#o.models.reads.findOne({ roomId, userId: reader }, { eventId: 1 }).lean();
      // Already recorded: our own receipt, pushed back after markRead saved it (or one Synapse sent again).
      if (known?.eventId === r.eventId) continue;
      await this.#saveRead({ roomId, userId: reader, eventId: r.eventId, at: new Date(ts) });
      if (userId) await this.#resetUnread(roomId, userId, r.eventId, ts);
      const recipients = new Set(members);
      if (userId) recipients.add(userId);
      this.#o.notify.read([...recipients], view);
    }
  }

  /**
   * A receipt from another client resets the reader's unread count, as markRead does, unless it was made before
   * the room's last message and is not on it: it cannot have covered that message, and how many are still unread
   * is not known here, so the count stays (too high rather than too low). Both times are the homeserver's.
   */
  async #resetUnread(roomId: string, userId: string, eventId: string, ts: number): Promise<void> {
    await this.#writeRoom(roomId, async () => {
      const room = await this.#o.models.rooms.findOne({ roomId }, { lastMessage: 1 }).lean();
      const last = room?.lastMessage;
      if (last && last.eventId !== eventId && ts < new Date(last.ts).getTime()) return;
      await this.#o.models.rooms.updateOne({ roomId }, { $set: { [`unread.${userId}`]: 0 } });
    });
  }

  #expectOwnReceipt(roomId: string, mxid: string, eventId: string): string {
    const now = this.#o.clock.now();
    for (const [key, until] of this.#ownReceipts) if (until <= now) this.#ownReceipts.delete(key);
    const key = `${roomId} ${mxid} ${eventId}`;
    this.#ownReceipts.set(key, now + OWN_RECEIPT_TTL_MS);
    return key;
  }

  /** True once for a receipt posted through our API and still expected. */
  #isOwnReceipt(roomId: string, mxid: string, eventId: string): boolean {
    const key = `${roomId} ${mxid} ${eventId}`;
    const until = this.#ownReceipts.get(key);
    if (until === undefined) return false;
    this.#ownReceipts.delete(key);
    return until > this.#o.clock.now();
  }

  /**
   * The members of a room that a colleague was just brought into from outside the bridge. Synapse pushes a room's
   * events only once one of our users is in it, so the joins before (the Element user who created the room) never
   * came; without them their messages would arrive but their receipts would have no member to show against.
   */
  async #learnMembers(roomId: string, mxid: string): Promise<void> {
    const { joined } = await this.#bridge.request<{ joined?: Record<string, unknown> }>(
      mxid,
      Method.Get,
      `/rooms/${enc(roomId)}/joined_members`,
    );
    const mxids = Object.keys(joined ?? {});
    if (mxids.length === 0) return;
    const room = await this.#writeRoom(roomId, () =>
      this.#o.models.rooms
        .findOneAndUpdate(
          { roomId },
          { $addToSet: { joined: { $each: mxids } } },
          // No projection: FerretDB v1's findAndModify does not implement one.
          { new: true },
        )
        .lean(),
    );
    if (room) this.#o.notify.room(await this.#directoryIds(room.joined), { roomId });
  }

  async #onNameOrTopic(event: MatrixRoomEvent): Promise<void> {
    const field = event.type === 'm.room.name' ? 'name' : 'topic';
    const value = event.content[field];
    const update =
      typeof value === 'string' && value !== '' ? { $set: { [field]: value } } : { $unset: { [field]: 1 } };
    const room = await this.#writeRoom(event.room_id, () =>
      this.#o.models.rooms.findOneAndUpdate({ roomId: event.room_id }, update).lean(),
    );
    if (room) this.#o.notify.room(await this.#directoryIds(room.joined), { roomId: event.room_id });
  }

  /**
   * Whether a message of the room carries this file. Files of messages from before the record existed are found by
   * reading the room's history (its messages with a URL) once per room, as the caller, who as a member sees it;
   * after that an unknown media id is a plain miss, so asking for made-up ones costs no more reads.
   */
  async #isRoomMedia(roomId: string, mxid: string, media: MediaRef): Promise<boolean> {
    const known = this.#o.models.media;
    if (await known.exists({ roomId, media: mediaKey(media) })) return true;
    if (await known.exists({ roomId, media: HISTORY_SCANNED })) return false;
    const urls: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < MEDIA_SCAN_PAGES; page++) {
      const params: Record<string, string> = {
        dir: 'b',
        limit: '100',
        filter: JSON.stringify({ types: ['m.room.message'], contains_url: true }),
      };
      if (from) params.from = from;
      const res = await this.#bridge.request<{ chunk: unknown[]; end?: string }>(
        mxid,
        Method.Get,
        `/rooms/${enc(roomId)}/messages`,
        params,
      );
      for (const event of res.chunk) if (isRoomEvent(event)) urls.push(...mediaUrlsOf(event.content));
      if (!res.end || res.chunk.length === 0) break;
      from = res.end;
    }
    await this.#recordMedia(roomId, urls);
    await this.#o.models.media
      .updateOne(
        { roomId, media: HISTORY_SCANNED },
        { $setOnInsert: { roomId, media: HISTORY_SCANNED, at: new Date(this.#o.clock.now()) } },
        { upsert: true },
      )
      .catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    return (await known.exists({ roomId, media: mediaKey(media) })) !== null;
  }

  /** Notes that these mxc:// URLs are files of the room (idempotent: one document per room and file). */
  async #recordMedia(roomId: string, urls: string[]): Promise<void> {
    const keys = [
      ...new Set(
        urls
          .map(parseMxc)
          .filter((m) => m !== undefined)
          .map(mediaKey),
      ),
    ];
    if (keys.length === 0) return;
    const at = new Date(this.#o.clock.now());
    for (const media of keys) {
      try {
        await this.#o.models.media.updateOne(
          { roomId, media },
          { $setOnInsert: { roomId, media, at } },
          { upsert: true },
        );
      } catch (err) {
        // The upload and Synapse's push of its message recorded it at the same moment: recorded either way.
        if (!isDuplicateKey(err)) throw err;
      }
    }
  }

  // --- helpers ---

  async #me(auth: UserAuth): Promise<Me> {
    const doc = await this.#o.users.findById(auth.userId, { passwordHash: 0, preferences: 0 }).lean();
    if (!doc || doc.disabled) throw new UnauthenticatedError('This account is no longer active');
    const user = toPublicUser(doc);
    return { user, mxid: await this.#bridge.ensureUser(user) };
  }

  async #colleague(id: string): Promise<PublicUser> {
    const doc = await this.#o.users.findById(id, { passwordHash: 0, preferences: 0 }).lean();
    if (!doc || doc.disabled) throw new NotFoundError('No such colleague');
    return toPublicUser(doc);
  }

  /** The room, when the caller is joined to it (and of the given kind); otherwise it does not exist for them. */
  async #memberRoom(roomId: string, mxid: string, kind?: 'dm' | 'group'): Promise<RoomDoc> {
    const room = (await this.#o.models.rooms.findOne({ roomId }).lean()) as RoomDoc | null;
    if (!room?.joined.includes(mxid)) throw new NotFoundError('No such chat');
    if (kind && room.kind !== kind) {
      throw new ValidationError('Invalid request', [{ path: 'roomId', message: `not a ${kind} chat` }]);
    }
    return room;
  }

  /** Who performs administrative changes: the bridge's sender when it is in the room, else the caller. */
  #adminOf(room: RoomDoc, mxid: string): string | undefined {
    return room.joined.includes(this.#bridge.botMxid) ? undefined : mxid;
  }

  async #join(mxid: string, roomId: string): Promise<void> {
    await this.#bridge.request(
      mxid === this.#bridge.botMxid ? undefined : mxid,
      Method.Post,
      `/rooms/${enc(roomId)}/join`,
      undefined,
      {},
    );
  }

  async #sendEvent(
    mxid: string,
    roomId: string,
    content: Record<string, unknown>,
    txnId: string = randomUUID(),
  ): Promise<{ eventId: string }> {
    const { event_id: eventId } = await this.#bridge.request<{ event_id: string }>(
      mxid,
      Method.Put,
      `/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`,
      undefined,
      content,
    );
    return { eventId };
  }

  /**
   * Runs a write (or a read-then-write) of a room's cache document after every earlier one of that room. FerretDB
   * v1 applies an update by reading and rewriting the whole document, so two overlapping updates of one room
   * (a message's unread `$inc` and a read receipt's reset, two members added at once) would keep only one. This
   * orders writes within this process only. Keep Matrix calls out of `write`: they would hold up the room.
   */
  #writeRoom<T>(roomId: string, write: () => Promise<T>): Promise<T> {
    return this.#roomWrites.run(roomId, write);
  }

  async #upsertRoom(roomId: string, fields: RoomFields): Promise<void> {
    await this.#writeRoom(roomId, () => this.#upsertRoomNow(roomId, fields));
  }

  /** The upsert itself; only from within the room's turn of #writeRoom. */
  async #upsertRoomNow(roomId: string, fields: RoomFields): Promise<void> {
    const { joined, ...rest } = fields;
    await this.#o.models.rooms.updateOne(
      { roomId },
      {
        $set: rest,
        $addToSet: { joined: { $each: joined } },
        $setOnInsert: { lastActivityAt: new Date(this.#o.clock.now()), invited: [], unread: {} },
      },
      { upsert: true },
    );
  }

  /** Adds a room to `m.direct` account data, so Matrix clients show it as a DM with `other`. */
  async #addDirect(mxid: string, other: string, roomId: string): Promise<void> {
    const path = `/user/${enc(mxid)}/account_data/m.direct`;
    let current: Record<string, string[]> = {};
    try {
      current = await this.#bridge.request<Record<string, string[]>>(mxid, Method.Get, path);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const rooms = Array.isArray(current[other]) ? current[other] : [];
    if (rooms.includes(roomId)) return;
    await this.#bridge.request(mxid, Method.Put, path, undefined, {
      ...current,
      [other]: [...rooms, roomId],
    });
  }

  async #viewFor(roomId: string, me: Me): Promise<ChatRoomView> {
    const doc = (await this.#o.models.rooms.findOne({ roomId }).lean()) as RoomDoc | null;
    if (!doc) throw new NotFoundError('No such chat');
    return this.#view(doc, me, (await this.#reads([roomId])).get(roomId));
  }

  async #view(doc: RoomDoc, me: Me, receipts: ChatReadReceipt[] = []): Promise<ChatRoomView> {
    const mxids = doc.joined.filter((m) => m !== this.#bridge.botMxid);
    const byMxid = await this.#members(mxids);
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

  /** The read receipts of these rooms, by room. */
  async #reads(roomIds: string[]): Promise<Map<string, ChatReadReceipt[]>> {
    const byRoom = new Map<string, ChatReadReceipt[]>();
    if (roomIds.length === 0) return byRoom;
    const docs = await this.#o.models.reads.find({ roomId: { $in: roomIds } }).lean();
    for (const doc of docs) {
      const list = byRoom.get(doc.roomId) ?? [];
      list.push(doc);
      byRoom.set(doc.roomId, list);
    }
    return byRoom;
  }

  /** Records a user's receipt; when two of their devices create it at once, the loser updates the winner's. */
  async #saveRead(receipt: ChatReadReceipt): Promise<void> {
    const { roomId, userId, eventId, at } = receipt;
    const save = (upsert: boolean) =>
      this.#o.models.reads.updateOne({ roomId, userId }, { $set: { eventId, at } }, { upsert });
    try {
      await save(true);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await save(false);
    }
  }

  async #members(mxids: string[]): Promise<Map<string, ChatMemberView>> {
    return this.#bridge.identify(mxids);
  }

  /** Directory user ids of the active colleagues among these mxids. */
  async #directoryIds(mxids: string[]): Promise<string[]> {
    const extensions = [
      ...new Set(mxids.map((m) => this.#bridge.extensionOf(m)).filter((e) => e !== undefined)),
    ];
    if (extensions.length === 0) return [];
    const docs = await this.#o.users
      .find({ extension: { $in: extensions }, disabled: false }, { _id: 1 })
      .lean();
    return docs.map((d) => String(d._id));
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

/** The rate-limit key of a directory user (guests are keyed by meeting and participant, see MeetingChat). */
export function userRateKey(userId: string): string {
  return `user:${userId}`;
}

/**
 * Room for the event's envelope (ids, sender, hashes, signatures) under Synapse's 64 KiB limit on a whole event:
 * content beyond this is cut down (the HTML dropped, an edit's fallback shortened) rather than refused.
 */
const MAX_CONTENT_BYTES = 60_000;
/**
 * The `chatmedias` marker of a room whose history was read for files (see #isRoomMedia); no media key (which is
 * `<server>/<mediaId>`) can be equal to it.
 */
const HISTORY_SCANNED = '#history-scanned';
/** At most this many pages of 100 file messages are read from a room's history, once. */
const MEDIA_SCAN_PAGES = 20;
const EDIT_FALLBACK_CHARS = 500;

function contentBytes(content: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(content));
}

/**
 * An m.text message, with the markdown subset rendered as `formatted_body` when it has markup. Escaped HTML can
 * be several times the text (`&` is `&amp;`): when it would make the event too large, the message goes as plain
 * text. A body too large by itself is left to Synapse, whose M_TOO_LARGE is a 400 (see matrixErrors).
 */
export function textContent(body: string): Record<string, unknown> {
  const html = renderMarkdown(body);
  const plain = { msgtype: 'm.text', body };
  if (!html) return plain;
  const formatted = { ...plain, format: 'org.matrix.custom.html', formatted_body: html };
  return contentBytes(formatted) <= MAX_CONTENT_BYTES ? formatted : plain;
}

/**
 * An edit (`m.replace`): the new text in `m.new_content`, and a "* text" fallback for clients without edits. The
 * markdown is rendered once (the fallback's "* " can neither open nor close emphasis). When both copies do not
 * fit, the fallback is shortened: clients that understand edits read only `m.new_content`.
 */
export function editContent(body: string, eventId: string): Record<string, unknown> {
  const next = textContent(body);
  const html = typeof next.formatted_body === 'string' ? next.formatted_body : undefined;
  const relation = { rel_type: 'm.replace', event_id: eventId };
  const full: Record<string, unknown> = {
    ...next,
    body: `* ${body}`,
    ...(html ? { formatted_body: `* ${html}` } : {}),
    'm.new_content': next,
    'm.relates_to': relation,
  };
  if (contentBytes(full) <= MAX_CONTENT_BYTES) return full;
  // Cut before a lone high surrogate, which Synapse's canonical JSON refuses.
  const cut = /[\uD800-\uDBFF]/.test(body.charAt(EDIT_FALLBACK_CHARS - 1))
    ? EDIT_FALLBACK_CHARS - 1
    : EDIT_FALLBACK_CHARS;
  const short = body.length > EDIT_FALLBACK_CHARS ? `${body.slice(0, cut)}…` : body;
  return { msgtype: 'm.text', body: `* ${short}`, 'm.new_content': next, 'm.relates_to': relation };
}

function toMessageView(event: MatrixRoomEvent, sender: ChatMemberView): ChatMessageView | undefined {
  const relation = asRecord(event.content['m.relates_to']);
  const isEdit = relation?.rel_type === 'm.replace' && typeof relation.event_id === 'string';
  const content = isEdit ? (asRecord(event.content['m.new_content']) ?? event.content) : event.content;
  const { msgtype, body } = content;
  if (typeof msgtype !== 'string' || typeof body !== 'string') return undefined;
  const view: ChatMessageView = {
    roomId: event.room_id,
    eventId: event.event_id,
    sender,
    msgtype,
    body,
    ts: event.origin_server_ts,
  };
  if (content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string') {
    view.formattedBody = content.formatted_body;
  }
  if (isEdit) view.edits = relation.event_id as string;
  const replyTo = asRecord(relation?.['m.in_reply_to'])?.event_id;
  if (typeof replyTo === 'string') view.replyTo = replyTo;
  if ((msgtype === 'm.file' || msgtype === 'm.image') && typeof content.url === 'string') {
    const info = asRecord(content.info);
    view.file = { url: content.url, name: typeof content.filename === 'string' ? content.filename : body };
    if (typeof info?.mimetype === 'string') view.file.mimetype = info.mimetype;
    if (typeof info?.size === 'number') view.file.size = info.size;
  }
  return view;
}

function mediaKey(media: MediaRef): string {
  return `${media.serverName}/${media.mediaId}`;
}

function parseMxc(url: string): MediaRef | undefined {
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(url);
  return m?.[1] && m[2] ? { serverName: m[1], mediaId: m[2] } : undefined;
}

/** The mxc:// URLs a message refers to: its file, the thumbnail, and an edit's new file. */
function mediaUrlsOf(content: Record<string, unknown>): string[] {
  const urls: string[] = [];
  for (const c of [content, asRecord(content['m.new_content'])]) {
    if (!c) continue;
    if (typeof c.url === 'string') urls.push(c.url);
    const thumbnail = asRecord(c.info)?.thumbnail_url;
    if (typeof thumbnail === 'string') urls.push(thumbnail);
  }
  return urls;
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}
