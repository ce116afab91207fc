import { Preset } from 'matrix-js-sdk';
import type {
  AddMembersRequest,
  ChatRoomView,
  CreateGroupRequest,
  UpdateGroupRequest,
} from '../../shared/schemas/chat.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import type { ChatRoom } from './chatModels.js';
import { isDuplicateKey } from '../db/duplicateKey.js';
import type { MatrixRoomEvent } from './matrix/matrixEvents.js';
import type { ChatContext, Me, RoomDoc } from './RoomCache.js';

/**
 * DMs and groups: creating them, their members, names and topics, through Matrix as the user (or the bridge's
 * sender, which administers groups); and the membership, name and topic events Synapse pushes back.
 */
export class ChatRooms {
  readonly #c: ChatContext;
  /** DM creations, one at a time per pair (keyed by the sorted pair of user ids). */
  readonly #dmOpens = new KeyedSerial();

  constructor(context: ChatContext) {
    this.#c = context;
  }

  /** Finds or creates the DM room of the caller and a colleague; `created` tells which. */
  async openDm(auth: UserAuth, otherId: string): Promise<{ room: ChatRoomView; created: boolean }> {
    if (otherId === auth.userId) {
      throw new ValidationError('Invalid request', [
        { path: 'userId', message: 'cannot chat with yourself' },
      ]);
    }
    const me = await this.#c.cache.me(auth);
    const other = await this.#c.cache.colleague(otherId);
    const otherMxid = await this.#c.bridge.ensureUser(other);
    const pairKey = [auth.userId, otherId].sort().join('|');
    // One creation at a time per pair in this process; the unique index covers other processes.
    return this.#dmOpens.run(pairKey, () => this.#openDmLocked(me, otherMxid, pairKey));
  }

  async #openDmLocked(
    me: Me,
    otherMxid: string,
    pairKey: string,
  ): Promise<{ room: ChatRoomView; created: boolean }> {
    const { models, cache, bridge } = this.#c;
    const existing = await models.dms.findOne({ pairKey }).lean();
    if (existing && (await this.#rejoinDm(existing.roomId, me.mxid, otherMxid))) {
      return { room: await cache.viewFor(existing.roomId, me), created: false };
    }
    const roomId = await bridge.rooms.create(me.mxid, {
      is_direct: true,
      preset: Preset.TrustedPrivateChat,
      invite: [otherMxid],
    });
    await bridge.rooms.join(otherMxid, roomId);
    await cache.upsert(roomId, { kind: 'dm', joined: [me.mxid, otherMxid] });
    await Promise.all([
      bridge.rooms.addDirect(me.mxid, otherMxid, roomId),
      bridge.rooms.addDirect(otherMxid, me.mxid, roomId),
    ]);
    const userIds = pairKey.split('|');
    if (existing) {
      await models.dms.updateOne({ pairKey }, { $set: { roomId } });
    } else {
      try {
        await models.dms.create({ pairKey, userIds, roomId });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another instance won the race: use its room and leave ours.
        const winner = await models.dms.findOne({ pairKey }).lean();
        await Promise.allSettled([me.mxid, otherMxid].map((m) => bridge.rooms.leave(m, roomId)));
        if (winner) return { room: await cache.viewFor(winner.roomId, me), created: false };
        throw err;
      }
    }
    this.#c.events.safeEmit('room', userIds, { roomId });
    return { room: await cache.viewFor(roomId, me), created: true };
  }

  /** Brings both people back into an existing DM (one may have left); false when the room is beyond repair. */
  async #rejoinDm(roomId: string, mine: string, theirs: string): Promise<boolean> {
    const joined = new Set((await this.#c.cache.find(roomId))?.joined ?? []);
    if (joined.has(mine) && joined.has(theirs)) return true;
    const inviter = joined.has(mine) ? mine : joined.has(theirs) ? theirs : undefined;
    if (!inviter) return false;
    const missing = inviter === mine ? theirs : mine;
    try {
      await this.#c.bridge.rooms.invite(inviter, roomId, missing);
      await this.#c.bridge.rooms.join(missing, roomId);
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
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    const members = await Promise.all(req.memberIds.map((id) => cache.colleague(id)));
    const mxids = await Promise.all(members.map((u) => bridge.ensureUser(u)));
    const bot = bridge.botMxid;
    const roomId = await bridge.rooms.create(me.mxid, {
      name: req.name,
      ...(req.description ? { topic: req.description } : {}),
      preset: Preset.PrivateChat,
      invite: [...mxids, bot],
      // The bridge's sender administers the group (kick, rename) for whichever member asks. The creator
      // already ranks above everyone (and, from room version 12, must not be listed).
      power_level_content_override: { users: { [bot]: 100 } },
    });
    await Promise.all([...mxids, bot].map((m) => bridge.rooms.join(m, roomId)));
    await cache.upsert(roomId, {
      kind: 'group',
      name: req.name,
      ...(req.description ? { topic: req.description } : {}),
      joined: [me.mxid, ...mxids, bot],
    });
    this.#c.events.safeEmit('room', [auth.userId, ...req.memberIds], { roomId });
    return cache.viewFor(roomId, me);
  }

  async updateGroup(auth: UserAuth, roomId: string, req: UpdateGroupRequest): Promise<ChatRoomView> {
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    const room = await cache.memberRoom(roomId, me.mxid, 'group');
    const admin = this.#adminOf(room, me.mxid);
    const set: Partial<ChatRoom> = {};
    if (req.name !== undefined) {
      await bridge.rooms.setName(admin, roomId, req.name ?? '');
      set.name = req.name;
    }
    if (req.description !== undefined) {
      await bridge.rooms.setTopic(admin, roomId, req.description);
      set.topic = req.description;
    }
    await cache.update(roomId, { $set: set });
    await this.#tellMembers(roomId, room.joined);
    return cache.viewFor(roomId, me);
  }

  async addMembers(auth: UserAuth, roomId: string, req: AddMembersRequest): Promise<ChatRoomView> {
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    const room = await cache.memberRoom(roomId, me.mxid, 'group');
    const admin = this.#adminOf(room, me.mxid);
    const users = await Promise.all(req.userIds.map((id) => cache.colleague(id)));
    for (const user of users) {
      const mxid = await bridge.ensureUser(user);
      if (room.joined.includes(mxid)) continue;
      await bridge.rooms.invite(admin, roomId, mxid);
      await bridge.rooms.join(mxid, roomId);
      await cache.update(roomId, { $addToSet: { joined: mxid }, $pull: { invited: mxid } });
    }
    this.#c.events.safeEmit('room', [...(await cache.directoryIds(room.joined)), ...req.userIds], { roomId });
    return cache.viewFor(roomId, me);
  }

  async removeMember(auth: UserAuth, roomId: string, userId: string): Promise<ChatRoomView> {
    if (userId === auth.userId) {
      throw new ValidationError('Invalid request', [{ path: 'userId', message: 'leave the chat instead' }]);
    }
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    const room = await cache.memberRoom(roomId, me.mxid, 'group');
    const target = await this.#c.users.findById(userId, { extension: 1 }).lean();
    const mxid = target ? bridge.identities.mxidOf(target.extension) : undefined;
    if (!mxid || !room.joined.includes(mxid)) throw new NotFoundError('Not a member of this chat');
    await bridge.rooms.kick(this.#adminOf(room, me.mxid), roomId, mxid);
    await cache.update(roomId, { $pull: { joined: mxid, invited: mxid } });
    await this.#tellMembers(roomId, room.joined);
    return cache.viewFor(roomId, me);
  }

  async leave(auth: UserAuth, roomId: string): Promise<void> {
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    const room = await cache.memberRoom(roomId, me.mxid);
    await bridge.rooms.leave(me.mxid, roomId);
    await cache.update(roomId, { $pull: { joined: me.mxid, invited: me.mxid } });
    await this.#tellMembers(roomId, room.joined);
  }

  /** The caller's rooms: unread ones first, then by last activity. */
  async list(auth: UserAuth): Promise<ChatRoomView[]> {
    const { cache } = this.#c;
    const me = await cache.me(auth);
    const docs = await cache.roomsOf(me.mxid);
    const reads = await cache.reads(docs.map((d) => d.roomId));
    const views = await Promise.all(docs.map((doc) => cache.view(doc, me, reads.get(doc.roomId))));
    return views.sort(
      (a, b) => Number(b.unread > 0) - Number(a.unread > 0) || b.lastActivityAt - a.lastActivityAt,
    );
  }

  async get(auth: UserAuth, roomId: string): Promise<ChatRoomView> {
    const me = await this.#c.cache.me(auth);
    await this.#c.cache.memberRoom(roomId, me.mxid);
    return this.#c.cache.viewFor(roomId, me);
  }

  // --- inbound ---

  async onMember(event: MatrixRoomEvent): Promise<void> {
    const { cache, bridge, models } = this.#c;
    const target = event.state_key;
    if (target === undefined) return;
    const membership = typeof event.content.membership === 'string' ? event.content.membership : '';
    const displayName = event.content.displayname;
    if (typeof displayName === 'string' && displayName !== '') {
      bridge.identities.rememberDisplayName(target, displayName);
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
    const known = await cache.write(roomId, async () => {
      if (!(await models.rooms.exists({ roomId }))) {
        if (membership !== 'invite' && membership !== 'join') return false;
        if (!bridge.identities.isBridged(target)) return false;
        // Rooms the bridge's sender sets up are ours and recorded by whoever created them (meeting chats live in
        // their own collection); only rooms someone outside the bridge brought a colleague into are learned here.
        if (event.sender === bridge.botMxid) return false;
        if (await models.meetingRooms.exists({ roomId })) return false;
        await cache.upsertNow(roomId, {
          kind: event.content.is_direct === true ? 'dm' : 'group',
          joined: [],
        });
      }
      // A joined member cannot be invited: an invite for someone already joined is older than the join we wrote
      // optimistically, and must not undo it.
      const filter = membership === 'invite' ? { roomId, joined: { $ne: target } } : { roomId };
      await models.rooms.updateOne(filter, update);
      return true;
    });
    if (!known) return;

    // Someone outside the bridge (an Element user) invited one of our colleagues: accept on their behalf.
    if (membership === 'invite' && !bridge.identities.isBridged(event.sender) && target !== bridge.botMxid) {
      const extension = bridge.identities.extensionOf(target);
      const active = extension ? await this.#c.users.exists({ extension, disabled: false }) : null;
      if (active) {
        bridge.rooms
          .join(target, roomId)
          .then(() => this.#learnMembers(roomId, target))
          .catch((err: unknown) => {
            this.#c.logger.warn({ roomId, err: String(err) }, 'auto-join of an invited colleague failed');
          });
      }
    }
    await this.#tellMembers(roomId, [...((await cache.joinedOf(roomId)) ?? []), target]);
  }

  /**
   * The members of a room that a colleague was just brought into from outside the bridge. Synapse pushes a room's
   * events only once one of our users is in it, so the joins before (the Element user who created the room) never
   * came; without them their messages would arrive but their receipts would have no member to show against.
   */
  async #learnMembers(roomId: string, mxid: string): Promise<void> {
    const mxids = await this.#c.bridge.rooms.joinedMembers(mxid, roomId);
    if (mxids.length === 0) return;
    const room = await this.#c.cache.write(roomId, () =>
      this.#c.models.rooms
        .findOneAndUpdate(
          { roomId },
          { $addToSet: { joined: { $each: mxids } } },
          // No projection: FerretDB v1's findAndModify does not implement one.
          { new: true },
        )
        .lean(),
    );
    if (room) await this.#tellMembers(roomId, room.joined);
  }

  async onNameOrTopic(event: MatrixRoomEvent): Promise<void> {
    const field = event.type === 'm.room.name' ? 'name' : 'topic';
    const value = event.content[field];
    const update =
      typeof value === 'string' && value !== '' ? { $set: { [field]: value } } : { $unset: { [field]: 1 } };
    const room = await this.#c.cache.write(event.room_id, () =>
      this.#c.models.rooms.findOneAndUpdate({ roomId: event.room_id }, update).lean(),
    );
    if (room) await this.#tellMembers(event.room_id, room.joined);
  }

  /** Who performs administrative changes: the bridge's sender when it is in the room, else the caller. */
  #adminOf(room: RoomDoc, mxid: string): string | undefined {
    return room.joined.includes(this.#c.bridge.botMxid) ? undefined : mxid;
  }

  /** The room's directory members learn that it changed. */
  async #tellMembers(roomId: string, joined: string[]): Promise<void> {
    this.#c.events.safeEmit('room', await this.#c.cache.directoryIds(joined), { roomId });
  }
}
