import { Preset } from 'matrix-js-sdk';
import type { MeetingChatMessageView, MeetingChatSender } from '../../shared/schemas/chat.js';
import type { Auth } from '../auth/authMiddleware.js';
import { toPublicUser, type UserModel } from '../directory/User.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MeetingModel } from '../meetings/Meeting.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import type { ChatMeetingRoom, ChatModels } from './chatModels.js';
import { APPSERVICE_USER_PREFIX } from './matrix/appservice.js';
import type { MatrixBridge } from './matrix/MatrixBridge.js';
import { asRecord, type MatrixRoomEvent } from './matrix/matrixEvents.js';
import { matrixErrcode } from './matrix/matrixErrors.js';
import { userRateKey, type MessageRateLimit } from './MessageRateLimit.js';
import { textContent } from './messageContent.js';

/** Custom content of a guest's message, relayed by the bridge's sender: who wrote it and what, unprefixed. */
export const GUEST_NAME_FIELD = 'ucc.guest_name';
export const GUEST_PARTICIPANT_FIELD = 'ucc.guest_participant_id';
export const GUEST_TEXT_FIELD = 'ucc.guest_text';

/** Where a participant is: what the signaling layer knows of an admitted socket. */
export interface MeetingSeat {
  meetingId: string;
  participantId: string;
}

export interface MeetingChatOptions {
  bridge: MatrixBridge;
  models: ChatModels;
  users: UserModel;
  meetings: MeetingModel;
  /** The ChatService's: a user's messages count together in every chat. */
  rateLimit: MessageRateLimit;
  logger: Logger;
}

/** `#ucc_meeting_<meetingId>`: inside the bridge's exclusive alias namespace. */
export function meetingAliasLocalpart(meetingId: string): string {
  return `${APPSERVICE_USER_PREFIX}meeting_${meetingId}`;
}

/**
 * The in-call chat of a meeting: a Matrix room owned by the bridge's sender, created on first use, so that the
 * meeting's chat is stored in Matrix like every other chat. Directory participants write as themselves (they are
 * brought into the room when admitted, or at their first message); guests have no Matrix account, so the
 * bridge's sender relays their messages with their guest name. Everyone in the meeting gets each message once
 * Synapse has stored it, through the bridge's transactions, as `meeting.chat.message`.
 */
export interface MeetingChatEvents {
  /** A message Synapse has stored, for everyone in the meeting (the composition root sends it to its socket room). */
  message: [meetingId: string, message: MeetingChatMessageView];
}

export class MeetingChat {
  /** A SafeEmitter: a throwing listener is logged and does not stop the other messages of the transaction. */
  readonly events: SafeEmitter<MeetingChatEvents>;
  readonly #o: MeetingChatOptions;
  readonly #bridge: MatrixBridge;
  readonly #creating = new Map<string, Promise<ChatMeetingRoom>>();
  /**
   * Writes of `chatmeetingrooms` documents, one at a time per room: FerretDB v1 rewrites the whole document per
   * update, so participants brought in at once would lose each other's `$addToSet` (within this process).
   */
  readonly #roomWrites = new KeyedSerial();

  constructor(options: MeetingChatOptions) {
    this.#o = options;
    this.events = new SafeEmitter<MeetingChatEvents>(options.logger);
    this.#bridge = options.bridge;
    this.#bridge.onEvents((events) => this.#inbound(events));
  }

  /**
   * A directory participant was admitted: bring their account into the meeting's room when it exists (a room
   * created later takes in everyone present then).
   */
  async admitted(meetingId: string, auth: Auth): Promise<void> {
    if (auth.kind !== 'user') return;
    const room = await this.#o.models.meetingRooms.findOne({ meetingId }).lean();
    if (room) await this.#ensureMember(room, auth.userId);
  }

  /** A message from an admitted participant: as the colleague themselves, or relayed for a guest. */
  async send(seat: MeetingSeat, auth: Auth, body: string): Promise<{ eventId: string }> {
    await this.#o.rateLimit.take(
      auth.kind === 'guest' ? `guest:${seat.meetingId}:${seat.participantId}` : userRateKey(auth.userId),
    );
    const room = await this.#room(seat.meetingId);
    if (auth.kind === 'guest') {
      return this.#sendEvent(undefined, room.roomId, {
        msgtype: 'm.text',
        body: `${auth.displayName} (ospite): ${body}`,
        [GUEST_NAME_FIELD]: auth.displayName,
        [GUEST_PARTICIPANT_FIELD]: seat.participantId,
        [GUEST_TEXT_FIELD]: body,
      });
    }
    const mxid = await this.#ensureMember(room, auth.userId);
    try {
      return await this.#sendEvent(mxid, room.roomId, textContent(body));
    } catch (err) {
      if (!(err instanceof ForbiddenError)) throw err;
      // Our record of who is in the room was stale (they left from another client, or were retired and
      // re-enabled): bring them back once and retry.
      await this.#roomWrites.run(room.roomId, () =>
        this.#o.models.meetingRooms.updateOne({ roomId: room.roomId }, { $pull: { joined: mxid } }),
      );
      await this.#ensureMember({ ...room, joined: room.joined.filter((m) => m !== mxid) }, auth.userId);
      return this.#sendEvent(mxid, room.roomId, textContent(body));
    }
  }

  /** Newest first, read from Matrix; a meeting whose chat was never used has no messages yet. */
  async history(
    meetingId: string,
    query: { limit: number; from?: string | undefined },
  ): Promise<{ items: MeetingChatMessageView[]; next?: string }> {
    const room = await this.#o.models.meetingRooms.findOne({ meetingId }).lean();
    if (!room) return { items: [] };
    const page = await this.#bridge.rooms.messages(undefined, room.roomId, query);
    const items = await this.#views(meetingId, page.events);
    return page.next ? { items, next: page.next } : { items };
  }

  // --- the room ---

  /** The meeting's room, created by the bridge's sender on first use; one per meeting, even across processes. */
  async #room(meetingId: string): Promise<ChatMeetingRoom> {
    const known = await this.#o.models.meetingRooms.findOne({ meetingId }).lean();
    if (known) return known;
    const running = this.#creating.get(meetingId);
    if (running) return running;
    const attempt = this.#create(meetingId).finally(() => {
      if (this.#creating.get(meetingId) === attempt) this.#creating.delete(meetingId);
    });
    this.#creating.set(meetingId, attempt);
    return attempt;
  }

  async #create(meetingId: string): Promise<ChatMeetingRoom> {
    const meeting = await this.#o.meetings.findById(meetingId, { title: 1, participants: 1 }).lean();
    if (!meeting) throw new NotFoundError('No such meeting', 'MEETING_NOT_FOUND');
    const aliasLocalpart = meetingAliasLocalpart(meetingId);
    let roomId: string;
    try {
      roomId = await this.#bridge.rooms.create(undefined, {
        room_alias_name: aliasLocalpart,
        name: `Riunione: ${meeting.title}`,
        preset: Preset.PrivateChat,
        creation_content: { 'ucc.meeting_id': meetingId },
      });
    } catch (err) {
      // The alias is the cross-process lock: another instance created the room first.
      if (matrixErrcode(err) !== 'M_ROOM_IN_USE') throw err;
      const alias = `#${aliasLocalpart}:${this.#bridge.serverName}`;
      roomId = await this.#bridge.rooms.roomIdForAlias(alias);
    }
    await this.#roomWrites.run(roomId, () =>
      this.#o.models.meetingRooms.updateOne(
        { meetingId },
        { $setOnInsert: { meetingId, roomId, joined: [this.#bridge.botMxid] } },
        { upsert: true },
      ),
    );
    const room = await this.#o.models.meetingRooms.findOne({ meetingId }).lean();
    if (!room) throw new Error(`meeting room of ${meetingId} not recorded`);
    // Everyone from the directory already in the call comes in now; later arrivals on admission.
    const present = meeting.participants.filter((p) => p.kind === 'user' && !p.leftAt && p.userId);
    await Promise.allSettled(
      present.map((p) =>
        this.#ensureMember(room, p.userId ?? '').catch((err: unknown) => {
          this.#o.logger.warn(
            { meetingId, err: String(err) },
            'joining a participant to the meeting chat failed',
          );
        }),
      ),
    );
    return room;
  }

  /** Invites (as the room's owner) and joins (as them) a directory user; returns their mxid. */
  async #ensureMember(room: ChatMeetingRoom, userId: string): Promise<string> {
    const doc = await this.#o.users.findById(userId, { passwordHash: 0, preferences: 0 }).lean();
    if (!doc || doc.disabled) throw new UnauthenticatedError('This account is no longer active');
    const mxid = await this.#bridge.ensureUser(toPublicUser(doc));
    if (room.joined.includes(mxid)) return mxid;
    try {
      await this.#bridge.rooms.invite(undefined, room.roomId, mxid);
    } catch (err) {
      // Already invited or joined: the join below settles it either way.
      if (!(err instanceof ForbiddenError)) throw err;
    }
    await this.#bridge.rooms.join(mxid, room.roomId);
    await this.#roomWrites.run(room.roomId, () =>
      this.#o.models.meetingRooms.updateOne({ roomId: room.roomId }, { $addToSet: { joined: mxid } }),
    );
    return mxid;
  }

  async #sendEvent(
    mxid: string | undefined,
    roomId: string,
    content: Record<string, unknown>,
  ): Promise<{ eventId: string }> {
    return { eventId: await this.#bridge.rooms.sendMessage(mxid, roomId, content) };
  }

  // --- inbound ---

  async #inbound(events: MatrixRoomEvent[]): Promise<void> {
    const messages = events.filter((e) => e.type === 'm.room.message');
    if (messages.length === 0) return;
    const rooms = await this.#o.models.meetingRooms
      .find({ roomId: { $in: [...new Set(messages.map((e) => e.room_id))] } }, { roomId: 1, meetingId: 1 })
      .lean();
    for (const room of rooms) {
      const views = await this.#views(
        room.meetingId,
        messages.filter((e) => e.room_id === room.roomId),
      );
      for (const view of views) this.events.safeEmit('message', room.meetingId, view);
    }
  }

  /** Messages as participants see them; edits and non-text events are left out. */
  async #views(meetingId: string, events: MatrixRoomEvent[]): Promise<MeetingChatMessageView[]> {
    const senders = await this.#senders(events);
    const out: MeetingChatMessageView[] = [];
    for (const event of events) {
      const { content } = event;
      const relation = asRecord(content['m.relates_to']);
      if (relation?.rel_type === 'm.replace') continue;
      if (typeof content.body !== 'string' || typeof content.msgtype !== 'string') continue;
      const guestName = content[GUEST_NAME_FIELD];
      const relayed = event.sender === this.#bridge.botMxid && typeof guestName === 'string';
      let sender: MeetingChatSender;
      let body = content.body;
      if (relayed) {
        sender = { kind: 'guest', displayName: guestName };
        const participantId = content[GUEST_PARTICIPANT_FIELD];
        if (typeof participantId === 'string') sender.participantId = participantId;
        const text = content[GUEST_TEXT_FIELD];
        if (typeof text === 'string') body = text;
      } else {
        sender = senders.get(event.sender) ?? {
          kind: 'matrix',
          mxid: event.sender,
          displayName: event.sender,
        };
      }
      const view: MeetingChatMessageView = {
        meetingId,
        eventId: event.event_id,
        sender,
        body,
        ts: event.origin_server_ts,
      };
      if (
        !relayed &&
        content.format === 'org.matrix.custom.html' &&
        typeof content.formatted_body === 'string'
      ) {
        view.formattedBody = content.formatted_body;
      }
      out.push(view);
    }
    return out;
  }

  /** Directory colleagues by extension ("Nome Cognome (200)"); anyone else by their Matrix profile. */
  async #senders(events: MatrixRoomEvent[]): Promise<Map<string, MeetingChatSender>> {
    const mxids = [...new Set(events.map((e) => e.sender))].filter((m) => m !== this.#bridge.botMxid);
    const known = await this.#bridge.identify(mxids);
    const out = new Map<string, MeetingChatSender>();
    for (const [mxid, who] of known) {
      out.set(
        mxid,
        who.userId
          ? { kind: 'user', mxid, userId: who.userId, displayName: who.displayName }
          : { kind: 'matrix', mxid, displayName: who.displayName },
      );
    }
    return out;
  }
}
