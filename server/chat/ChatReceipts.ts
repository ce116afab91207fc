import type { ChatReadView } from '../../shared/schemas/chat.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import type { MatrixReceipt } from './matrix/matrixEvents.js';
import type { ChatContext } from './RoomCache.js';

/** How long a receipt posted through our API waits for Synapse to push it back (it does not when nothing moved). */
const OWN_RECEIPT_TTL_MS = 60_000;

/**
 * Read receipts: "Letto" for the others and the reader's unread count back to 0, whether the receipt came through
 * our API (markRead) or from another Matrix client (Synapse's push, onReceipts).
 */
export class ChatReceipts {
  readonly #c: ChatContext;
  /**
   * Receipts just posted through our API (`<roomId> <mxid> <eventId>`, until when they are expected), so that
   * Synapse pushing them back is not taken for a read in another client. In this process only, like the cache's
   * ordered writes.
   */
  readonly #own = new Map<string, number>();

  constructor(context: ChatContext) {
    this.#c = context;
  }

  /**
   * A read receipt up to `eventId`: the caller's unread count of the room goes back to 0, and every member's
   * sockets (the caller's other devices, and the others for their "Letto") learn who read what, and when.
   */
  async markRead(auth: UserAuth, roomId: string, eventId: string): Promise<void> {
    const { cache, bridge, clock } = this.#c;
    const me = await cache.me(auth);
    const room = await cache.memberRoom(roomId, me.mxid);
    // Expected before the call: Synapse may push the receipt back before the call returns.
    const own = this.#expectOwn(roomId, me.mxid, eventId);
    try {
      await bridge.rooms.readReceipt(me.mxid, roomId, eventId);
    } catch (err) {
      this.#own.delete(own);
      throw err;
    }
    const at = new Date(clock.now());
    await cache.saveRead({ roomId, userId: auth.userId, eventId, at });
    await cache.update(roomId, { $set: { [`unread.${auth.userId}`]: 0 } });
    const recipients = new Set(await cache.directoryIds(room.joined)).add(auth.userId);
    this.#c.events.safeEmit('read', [...recipients], {
      roomId,
      userId: auth.userId,
      mxid: me.mxid,
      eventId,
      ts: at.getTime(),
    });
  }

  /**
   * Read receipts from Synapse. A colleague's receipt made in another client (Element) counts as markRead does,
   * without posting it back: their receipt is recorded, their unread count reset, and every member told. A
   * Matrix user outside the directory is recorded under their mxid and shown in `reads` with no userId. A private
   * receipt (`m.read.private`, which Synapse sends us for our own users only) resets the reader's own count and
   * reaches only their devices. Receipts in a thread are left out: they do not read the room's main timeline.
   */
  async onReceipts(roomId: string, receipts: MatrixReceipt[]): Promise<void> {
    const { cache, bridge, models, clock, events } = this.#c;
    const joined = await cache.joinedOf(roomId);
    if (!joined) return;
    const newest = new Map<string, MatrixReceipt>();
    for (const r of receipts) {
      if (r.receiptType !== 'm.read' && r.receiptType !== 'm.read.private') continue;
      if (r.threadId !== undefined && r.threadId !== 'main') continue;
      if (r.userId === bridge.botMxid) continue;
      const key = `${r.receiptType} ${r.userId}`;
      const seen = newest.get(key);
      if (!seen || (r.ts ?? 0) > (seen.ts ?? 0)) newest.set(key, r);
    }
    const fresh = [...newest.values()].filter(
      (r) => !(r.receiptType === 'm.read' && this.#isOwn(roomId, r.userId, r.eventId)),
    );
    if (fresh.length === 0) return;
    const [readers, members] = await Promise.all([
      cache.members(fresh.map((r) => r.userId)),
      cache.directoryIds(joined),
    ]);
    for (const r of fresh) {
      const userId = readers.get(r.userId)?.userId;
      const ts = r.ts ?? clock.now();
      const view: ChatReadView = { roomId, mxid: r.userId, eventId: r.eventId, ts };
      if (userId) view.userId = userId;
      if (r.receiptType === 'm.read.private') {
        if (!userId) continue;
        await this.#resetUnread(roomId, userId, r.eventId, ts);
        events.safeEmit('read', [userId], view);
        continue;
      }
      const reader = userId ?? r.userId;
      const known = await models.reads.findOne({ roomId, userId: reader }, { eventId: 1 }).lean();
      // Already recorded: our own receipt, pushed back after markRead saved it (or one Synapse sent again).
      if (known?.eventId === r.eventId) continue;
      await cache.saveRead({ roomId, userId: reader, eventId: r.eventId, at: new Date(ts) });
      if (userId) await this.#resetUnread(roomId, userId, r.eventId, ts);
      const recipients = new Set(members);
      if (userId) recipients.add(userId);
      events.safeEmit('read', [...recipients], view);
    }
  }

  /**
   * A receipt from another client resets the reader's unread count, as markRead does, unless it was made before
   * the room's last message and is not on it: it cannot have covered that message, and how many are still unread
   * is not known here, so the count stays (too high rather than too low). Both times are the homeserver's.
   */
  async #resetUnread(roomId: string, userId: string, eventId: string, ts: number): Promise<void> {
    const rooms = this.#c.models.rooms;
    await this.#c.cache.write(roomId, async () => {
      const room = await rooms.findOne({ roomId }, { lastMessage: 1 }).lean();
      const last = room?.lastMessage;
      if (last && last.eventId !== eventId && ts < new Date(last.ts).getTime()) return;
      await rooms.updateOne({ roomId }, { $set: { [`unread.${userId}`]: 0 } });
    });
  }

  #expectOwn(roomId: string, mxid: string, eventId: string): string {
    const now = this.#c.clock.now();
    for (const [key, until] of this.#own) if (until <= now) this.#own.delete(key);
    const key = `${roomId} ${mxid} ${eventId}`;
    this.#own.set(key, now + OWN_RECEIPT_TTL_MS);
    return key;
  }

  /** True once for a receipt posted through our API and still expected. */
  #isOwn(roomId: string, mxid: string, eventId: string): boolean {
    const key = `${roomId} ${mxid} ${eventId}`;
    const until = this.#own.get(key);
    if (until === undefined) return false;
    this.#own.delete(key);
    return until > this.#c.clock.now();
  }
}
