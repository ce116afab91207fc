import type {
  ChatMessageView,
  EditMessageRequest,
  HistoryQuery,
  MediaRef,
  SendMessageRequest,
} from '../../shared/schemas/chat.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { isDuplicateKey } from '../db/duplicateKey.js';
import type { MediaDownload } from './matrix/MatrixClients.js';
import type { MatrixRoomEvent } from './matrix/matrixEvents.js';
import { userRateKey } from './MessageRateLimit.js';
import {
  editContent,
  mediaKey,
  mediaUrlsOf,
  parseMxc,
  textContent,
  toMessageView,
} from './messageContent.js';
import type { ChatContext } from './RoomCache.js';

/**
 * The `chatmedias` marker of a room whose history was read for files (see #isRoomMedia); no media key (which is
 * `<server>/<mediaId>`) can be equal to it.
 */
const HISTORY_SCANNED = '#history-scanned';
/** At most this many pages of 100 file messages are read from a room's history, once. */
const MEDIA_SCAN_PAGES = 20;
const MEDIA_SCAN_PAGE_SIZE = 100;

/**
 * Messages and files: every message lives in Matrix. Sending goes to Synapse as the user; what users see in
 * realtime comes back through the bridge's transactions (onMessage), fanned out to the room's directory members,
 * and the room's last message and unread counts are cached from it.
 */
export class ChatMessages {
  readonly #c: ChatContext;

  constructor(context: ChatContext) {
    this.#c = context;
  }

  /** Newest first; pass `next` as `from` for older messages. */
  async history(
    auth: UserAuth,
    roomId: string,
    query: HistoryQuery,
  ): Promise<{ items: ChatMessageView[]; next?: string }> {
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    await cache.memberRoom(roomId, me.mxid);
    const page = await bridge.rooms.messages(me.mxid, roomId, { limit: query.limit, from: query.from });
    const senders = await cache.members([...new Set(page.events.map((e) => e.sender))]);
    const items = page.events
      .map((e) => toMessageView(e, senders.get(e.sender) ?? { mxid: e.sender, displayName: e.sender }))
      .filter((m): m is ChatMessageView => m !== undefined);
    return page.next ? { items, next: page.next } : { items };
  }

  async send(auth: UserAuth, roomId: string, req: SendMessageRequest): Promise<{ eventId: string }> {
    const mxid = await this.#senderIn(auth, roomId);
    const content: Record<string, unknown> = textContent(req.body);
    if (req.replyTo) content['m.relates_to'] = { 'm.in_reply_to': { event_id: req.replyTo } };
    return { eventId: await this.#c.bridge.rooms.sendMessage(mxid, roomId, content, req.clientTxnId) };
  }

  /** An edit of one's own message (`m.replace`); others' messages cannot be edited. */
  async edit(
    auth: UserAuth,
    roomId: string,
    eventId: string,
    req: EditMessageRequest,
  ): Promise<{ eventId: string }> {
    const mxid = await this.#senderIn(auth, roomId);
    const original = await this.#c.bridge.rooms.event(mxid, roomId, eventId);
    if (original.sender !== mxid || original.type !== 'm.room.message') {
      throw new ForbiddenError('Only your own messages can be edited');
    }
    return { eventId: await this.#c.bridge.rooms.sendMessage(mxid, roomId, editContent(req.body, eventId)) };
  }

  /** A file or image through the Matrix media repository, then an m.file / m.image message. */
  async upload(
    auth: UserAuth,
    roomId: string,
    file: { data: Uint8Array; type: string; name: string },
  ): Promise<{ eventId: string; url: string }> {
    const mxid = await this.#senderIn(auth, roomId);
    const { rooms } = this.#c.bridge;
    const url = await rooms.upload(mxid, file.data, { type: file.type, name: file.name });
    const msgtype = file.type.startsWith('image/') ? 'm.image' : 'm.file';
    const eventId = await rooms.sendMessage(mxid, roomId, {
      msgtype,
      body: file.name,
      filename: file.name,
      url,
      info: { mimetype: file.type, size: file.data.byteLength },
    });
    // Now, not only when Synapse pushes the message back: the sender's client fetches it at once.
    await this.#recordMedia(roomId, [url]);
    return { eventId, url };
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
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    await cache.memberRoom(roomId, me.mxid);
    if (media.serverName !== bridge.serverName) throw new NotFoundError('No such file');
    // The file must be one of this room's messages: a media id seen elsewhere (another room, a DM the caller is
    // not in) is not served through this room, whatever Synapse would allow.
    if (!(await this.#isRoomMedia(roomId, me.mxid, media))) throw new NotFoundError('No such file');
    return bridge.download(me.mxid, media, options);
  }

  /** A message Synapse pushed: cached as the room's last message, counted unread, and told to the members. */
  async onMessage(event: MatrixRoomEvent): Promise<void> {
    const { cache } = this.#c;
    const room = await cache.find(event.room_id);
    if (!room) {
      this.#c.logger.debug({ roomId: event.room_id }, 'message in a room the bridge does not know');
      return;
    }
    const sender = await cache.member(event.sender);
    const view = toMessageView(event, sender);
    if (!view) return;
    await this.#recordMedia(event.room_id, mediaUrlsOf(event.content));
    const recipients = await cache.directoryIds(room.joined);
    if (!view.edits) {
      const inc: Record<string, number> = {};
      for (const id of recipients) if (id !== sender.userId) inc[`unread.${id}`] = 1;
      const ts = new Date(event.origin_server_ts);
      await cache.update(event.room_id, {
        $set: {
          lastActivityAt: ts,
          lastMessage: { eventId: event.event_id, sender: sender.displayName, body: view.body, ts },
        },
        ...(Object.keys(inc).length > 0 ? { $inc: inc } : {}),
      });
    }
    this.#c.events.safeEmit('message', recipients, view);
  }

  /** The caller's mxid once they may send to the room: within the rate limit, and a member. */
  async #senderIn(auth: UserAuth, roomId: string): Promise<string> {
    await this.#c.rateLimit.take(userRateKey(auth.userId));
    const me = await this.#c.cache.me(auth);
    await this.#c.cache.memberRoom(roomId, me.mxid);
    return me.mxid;
  }

  /**
   * Whether a message of the room carries this file. Files of messages from before the record existed are found by
   * reading the room's history (its messages with a URL) once per room, as the caller, who as a member sees it;
   * after that an unknown media id is a plain miss, so asking for made-up ones costs no more reads.
   */
  async #isRoomMedia(roomId: string, mxid: string, media: MediaRef): Promise<boolean> {
    const known = this.#c.models.media;
    if (await known.exists({ roomId, media: mediaKey(media) })) return true;
    if (await known.exists({ roomId, media: HISTORY_SCANNED })) return false;
    const urls: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < MEDIA_SCAN_PAGES; page++) {
      const res = await this.#c.bridge.rooms.messages(mxid, roomId, {
        limit: MEDIA_SCAN_PAGE_SIZE,
        from,
        containsUrl: true,
      });
      for (const event of res.events) urls.push(...mediaUrlsOf(event.content));
      if (!res.next) break;
      from = res.next;
    }
    await this.#recordMedia(roomId, urls);
    await known
      .updateOne(
        { roomId, media: HISTORY_SCANNED },
        { $setOnInsert: { roomId, media: HISTORY_SCANNED, at: new Date(this.#c.clock.now()) } },
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
    const at = new Date(this.#c.clock.now());
    for (const media of keys) {
      try {
        await this.#c.models.media.updateOne(
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
}
