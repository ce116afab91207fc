import type { UserAuth } from '../auth/authMiddleware.js';
import type { ChatContext } from './RoomCache.js';
import { TypingState, type TypingChange } from './TypingState.js';

const TYPING_TIMEOUT_MS = 30_000;
/**
 * How often the members are reminded of someone typing in another client. Synapse pushes a typing list only when
 * it changes, while our web client drops a typing notice after 6 s without a refresh (its own refresh every 3 s).
 */
const TYPING_RELAY_MS = 3_000;

/** What another node recorded (a change through its API) or was pushed (Synapse's list) of a room's typing. */
export type TypingElsewhere =
  { roomId: string; mxid: string; typing: boolean } | { roomId: string; mxids: string[] };

/** "Sta scrivendo…": our users' typing sent to Matrix, and everyone's typing (Synapse's pushes) told to members. */
export class ChatTyping {
  readonly #c: ChatContext;
  /** Who each room's members were told is typing (see TypingState). */
  readonly #state: TypingState;
  /** Rooms with a reminder of their Element typers scheduled (see TYPING_RELAY_MS). */
  readonly #reminders = new Set<string>();

  constructor(context: ChatContext) {
    this.#c = context;
    this.#state = new TypingState(context.clock, TYPING_TIMEOUT_MS);
  }

  async typing(auth: UserAuth, roomId: string, typing: boolean): Promise<void> {
    const { cache, bridge } = this.#c;
    const me = await cache.me(auth);
    const room = await cache.memberRoom(roomId, me.mxid);
    // Recorded before the call, since Synapse's echo of it may arrive first and must not be told again; on the
    // other nodes too, as Synapse may push the echo to any of them.
    const undo = this.#state.set(roomId, me.mxid, typing);
    this.#c.events.safeEmit('typingRecorded', roomId, me.mxid, typing);
    try {
      await bridge.rooms.typing(me.mxid, roomId, typing, typing ? TYPING_TIMEOUT_MS : 0);
    } catch (err) {
      undo();
      throw err;
    }
    const others = (await cache.directoryIds(room.joined)).filter((id) => id !== auth.userId);
    const user = await cache.member(me.mxid);
    this.#c.events.safeEmit('typing', others, { roomId, user, typing });
  }

  /** A room's list of who is typing now: its directory members are told who started or stopped. */
  async onTyping(roomId: string, userIds: string[]): Promise<void> {
    const joined = await this.#c.cache.joinedOf(roomId);
    if (!joined) return;
    const typers = userIds.filter((m) => m !== this.#c.bridge.botMxid);
    const changes = this.#state.push(roomId, typers);
    // The next list may reach another node: it must compare it with this one, not with an older one it saw.
    this.#c.events.safeEmit('typingPushed', roomId, typers);
    if (changes.length === 0) return;
    await this.#tell(roomId, joined, changes);
    this.#remind(roomId);
  }

  /** A change made through another node's API: recorded here as that node did, not told (that node told). */
  recordedElsewhere(roomId: string, mxid: string, typing: boolean): void {
    this.#state.set(roomId, mxid, typing);
  }

  /** A list Synapse pushed to another node: this node's view follows it, untold (that node told the changes). */
  pushedElsewhere(roomId: string, mxids: string[]): void {
    this.#state.push(roomId, mxids);
  }

  /**
   * Tells a room's directory members, each typer excepted, who started or stopped typing. A change that no longer
   * holds once the names are looked up (a stop through our API meanwhile) is not told: it would undo a newer one.
   */
  async #tell(roomId: string, joined: string[], changes: TypingChange[]): Promise<void> {
    const { cache } = this.#c;
    const [recipients, who] = await Promise.all([
      cache.directoryIds(joined),
      cache.members(changes.map((c) => c.mxid)),
    ]);
    for (const { mxid, typing } of changes) {
      if (this.#state.isTyping(roomId, mxid) !== typing) continue;
      const user = who.get(mxid) ?? { mxid, displayName: mxid };
      this.#c.events.safeEmit(
        'typing',
        recipients.filter((id) => id !== user.userId),
        { roomId, user, typing },
      );
    }
  }

  /** While Synapse lists typers in a room that only it knows of, tells them again every TYPING_RELAY_MS. */
  #remind(roomId: string): void {
    if (this.#reminders.has(roomId) || this.#state.relayed(roomId).length === 0) return;
    this.#reminders.add(roomId);
    this.#c.clock.setTimer(TYPING_RELAY_MS, () => {
      this.#reminders.delete(roomId);
      const typers = this.#state.relayed(roomId);
      if (typers.length === 0) return;
      this.#c.cache
        .joinedOf(roomId)
        .then(async (joined) => {
          if (!joined) return;
          await this.#tell(
            roomId,
            joined,
            typers.map((mxid) => ({ mxid, typing: true })),
          );
          this.#remind(roomId);
        })
        .catch((err: unknown) => {
          this.#c.logger.warn({ roomId, err: String(err) }, 'typing reminder failed');
        });
    });
  }
}
