import type {
  AddMembersRequest,
  ChatMessageView,
  ChatRoomView,
  CreateGroupRequest,
  EditMessageRequest,
  HistoryQuery,
  MediaRef,
  SendMessageRequest,
  UpdateGroupRequest,
} from '../../shared/schemas/chat.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import type { Clock } from '../clock.js';
import type { UserModel } from '../directory/User.js';
import type { Logger } from '../logger.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import { ChatMessages } from './ChatMessages.js';
import type { ChatModels } from './chatModels.js';
import { ChatReceipts } from './ChatReceipts.js';
import { ChatRooms } from './ChatRooms.js';
import { ChatTyping, type TypingElsewhere } from './ChatTyping.js';
import type { MatrixBridge } from './matrix/MatrixBridge.js';
import type { MediaDownload } from './matrix/MatrixClients.js';
import type { MatrixEphemeral, MatrixRoomEvent } from './matrix/matrixEvents.js';
import type { NodeLock } from '../redis/RedisLock.js';
import type { MessageRateLimit } from './MessageRateLimit.js';
import { RoomCache, type ChatEvents } from './RoomCache.js';

export type { ChatEvents } from './RoomCache.js';

export interface ChatServiceOptions {
  bridge: MatrixBridge;
  models: ChatModels;
  users: UserModel;
  /** Shared with the meeting chat: a user's messages count together wherever they are sent. */
  rateLimit: MessageRateLimit;
  clock: Clock;
  logger: Logger;
  /** With several nodes: the room cache's writes are ordered across them too (RoomCache.write). */
  nodeLock?: NodeLock | undefined;
}

/**
 * The directory chat: DMs and groups whose messages live in Matrix. It puts together its parts, each one job:
 * ChatRooms (rooms and members), ChatMessages (messages and files), ChatReceipts (read receipts), ChatTyping
 * (typing), over the RoomCache (our database's cache of room state). What users' sockets must learn goes out as
 * `events` (a SafeEmitter: a throwing listener is logged and does not fail the saved operation).
 */
export class ChatService {
  readonly events: SafeEmitter<ChatEvents>;
  readonly #rooms: ChatRooms;
  readonly #messages: ChatMessages;
  readonly #receipts: ChatReceipts;
  readonly #typing: ChatTyping;

  constructor(options: ChatServiceOptions) {
    this.events = new SafeEmitter<ChatEvents>(options.logger);
    const cache = new RoomCache(options);
    const context = { ...options, cache, events: this.events };
    this.#rooms = new ChatRooms(context);
    this.#messages = new ChatMessages(context);
    this.#receipts = new ChatReceipts(context);
    this.#typing = new ChatTyping(context);
    options.bridge.onEvents((events) => this.#inbound(events));
    options.bridge.onEphemeral((events) => this.#inboundEphemeral(events));
  }

  // --- rooms ---

  /** Finds or creates the DM room of the caller and a colleague; `created` tells which. */
  openDm(auth: UserAuth, otherId: string): Promise<{ room: ChatRoomView; created: boolean }> {
    return this.#rooms.openDm(auth, otherId);
  }

  createGroup(auth: UserAuth, req: CreateGroupRequest): Promise<ChatRoomView> {
    return this.#rooms.createGroup(auth, req);
  }

  updateGroup(auth: UserAuth, roomId: string, req: UpdateGroupRequest): Promise<ChatRoomView> {
    return this.#rooms.updateGroup(auth, roomId, req);
  }

  addMembers(auth: UserAuth, roomId: string, req: AddMembersRequest): Promise<ChatRoomView> {
    return this.#rooms.addMembers(auth, roomId, req);
  }

  removeMember(auth: UserAuth, roomId: string, userId: string): Promise<ChatRoomView> {
    return this.#rooms.removeMember(auth, roomId, userId);
  }

  leave(auth: UserAuth, roomId: string): Promise<void> {
    return this.#rooms.leave(auth, roomId);
  }

  /** The caller's rooms: unread ones first, then by last activity. */
  listRooms(auth: UserAuth): Promise<ChatRoomView[]> {
    return this.#rooms.list(auth);
  }

  getRoom(auth: UserAuth, roomId: string): Promise<ChatRoomView> {
    return this.#rooms.get(auth, roomId);
  }

  // --- messages ---

  /** Newest first; pass `next` as `from` for older messages. */
  history(
    auth: UserAuth,
    roomId: string,
    query: HistoryQuery,
  ): Promise<{ items: ChatMessageView[]; next?: string }> {
    return this.#messages.history(auth, roomId, query);
  }

  send(auth: UserAuth, roomId: string, req: SendMessageRequest): Promise<{ eventId: string }> {
    return this.#messages.send(auth, roomId, req);
  }

  edit(
    auth: UserAuth,
    roomId: string,
    eventId: string,
    req: EditMessageRequest,
  ): Promise<{ eventId: string }> {
    return this.#messages.edit(auth, roomId, eventId, req);
  }

  upload(
    auth: UserAuth,
    roomId: string,
    file: { data: Uint8Array; type: string; name: string },
  ): Promise<{ eventId: string; url: string }> {
    return this.#messages.upload(auth, roomId, file);
  }

  file(
    auth: UserAuth,
    roomId: string,
    media: MediaRef,
    options: { thumbnail: boolean; signal?: AbortSignal },
  ): Promise<MediaDownload> {
    return this.#messages.file(auth, roomId, media, options);
  }

  // --- receipts and typing ---

  markRead(auth: UserAuth, roomId: string, eventId: string): Promise<void> {
    return this.#receipts.markRead(auth, roomId, eventId);
  }

  typing(auth: UserAuth, roomId: string, typing: boolean): Promise<void> {
    return this.#typing.typing(auth, roomId, typing);
  }

  /** What another node recorded or was pushed of a room's typing (its `typingRecorded` / `typingPushed`). */
  typingElsewhere(change: TypingElsewhere): void {
    if ('mxids' in change) this.#typing.pushedElsewhere(change.roomId, change.mxids);
    else this.#typing.recordedElsewhere(change.roomId, change.mxid, change.typing);
  }

  // --- inbound: what Synapse pushed to the bridge ---

  async #inbound(events: MatrixRoomEvent[]): Promise<void> {
    for (const event of events) {
      switch (event.type) {
        case 'm.room.message':
          await this.#messages.onMessage(event);
          break;
        case 'm.room.member':
          await this.#rooms.onMember(event);
          break;
        case 'm.room.name':
        case 'm.room.topic':
          await this.#rooms.onNameOrTopic(event);
          break;
        default:
          break;
      }
    }
  }

  /** Typing and receipts, from our own users' API calls (echoes) and from other Matrix clients. */
  async #inboundEphemeral(events: MatrixEphemeral[]): Promise<void> {
    for (const event of events) {
      if (event.type === 'm.typing') await this.#typing.onTyping(event.roomId, event.userIds);
      else await this.#receipts.onReceipts(event.roomId, event.receipts);
    }
  }
}
