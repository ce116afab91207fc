import type { Clock } from '../clock.js';

/** A change of someone's typing that a room's members must be told of. */
export interface TypingChange {
  mxid: string;
  typing: boolean;
}

/** How long a stop through our API outweighs Synapse's lists: enough for a late echo of the start before it. */
const STOP_HOLDS_MS = 5_000;

/** A change made through our API, and until when it outweighs what Synapse pushes. */
interface OwnChange {
  typing: boolean;
  until: number;
}

/**
 * Who the members of each room were last told is typing, from two sources:
 *
 * - our own users' changes through our API (`ChatService.typing`, which tells the members itself);
 * - the lists Synapse pushes (`m.typing`: everyone typing in the room now, our own users' changes included).
 *
 * A pushed list is told only as far as it changes what the members saw. While a change through our API holds,
 * Synapse's word on that person is not told: its echo of the change would be told twice, and a list it built
 * before the change (pushed late) would undo it. A start holds until the timeout it was given in Synapse, a stop
 * a few seconds; after that only Synapse's lists count. A colleague typing in Element, under the same mxid as in
 * our app, is told like anyone else.
 */
export class TypingState {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  /** Per room: our users' changes through our API that still hold. */
  readonly #ours = new Map<string, Map<string, OwnChange>>();
  /** Per room: the last list Synapse pushed. */
  readonly #pushed = new Map<string, Set<string>>();

  constructor(clock: Clock, timeoutMs: number) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * A change made through our API, recorded before it is sent to Synapse (whose echo may arrive before the call
   * returns). Returns the undo, for when Synapse refused it.
   */
  set(roomId: string, mxid: string, typing: boolean): () => void {
    const ours = this.#ours.get(roomId) ?? new Map<string, OwnChange>();
    const pushed = this.#pushed.get(roomId);
    const previous = ours.get(mxid);
    const wasPushed = pushed?.has(mxid) ?? false;
    ours.set(mxid, { typing, until: this.#clock.now() + (typing ? this.#timeoutMs : STOP_HOLDS_MS) });
    // The members are told of a stop now; Synapse's list without them must not tell it again later.
    if (!typing) pushed?.delete(mxid);
    this.#store(roomId, ours, pushed);
    return () => {
      const current = this.#ours.get(roomId) ?? new Map<string, OwnChange>();
      if (previous === undefined) current.delete(mxid);
      else current.set(mxid, previous);
      const list = this.#pushed.get(roomId) ?? new Set<string>();
      if (wasPushed) list.add(mxid);
      this.#store(roomId, current, list);
    };
  }

  /** A list Synapse pushed for a room: the changes its members have not been told of yet. */
  push(roomId: string, mxids: readonly string[]): TypingChange[] {
    const ours = this.#holding(roomId);
    const before = this.#pushed.get(roomId) ?? new Set<string>();
    const after = new Set(mxids);
    const changes: TypingChange[] = [];
    for (const mxid of after) if (!before.has(mxid) && !ours.has(mxid)) changes.push({ mxid, typing: true });
    for (const mxid of before) if (!after.has(mxid) && !ours.has(mxid)) changes.push({ mxid, typing: false });
    this.#store(roomId, ours, after);
    return changes;
  }

  /** Whether the members should now see this person typing, by whichever source counts for them. */
  isTyping(roomId: string, mxid: string): boolean {
    const own = this.#holding(roomId).get(mxid);
    return own ? own.typing : (this.#pushed.get(roomId)?.has(mxid) ?? false);
  }

  /**
   * Who is typing in a room by Synapse's last list, except our users whose change through our API still holds
   * (their own client refreshes a start): the typers only Synapse knows of, such as people on Element.
   */
  relayed(roomId: string): string[] {
    const ours = this.#holding(roomId);
    return [...(this.#pushed.get(roomId) ?? [])].filter((mxid) => !ours.has(mxid));
  }

  /** How many rooms hold any state (a room with nobody typing holds none). */
  get rooms(): number {
    return new Set([...this.#ours.keys(), ...this.#pushed.keys()]).size;
  }

  /** A room's changes through our API that still hold; the others are dropped. */
  #holding(roomId: string): Map<string, OwnChange> {
    const now = this.#clock.now();
    const ours = this.#ours.get(roomId) ?? new Map<string, OwnChange>();
    for (const [mxid, own] of ours) if (own.until <= now) ours.delete(mxid);
    if (ours.size === 0) this.#ours.delete(roomId);
    return ours;
  }

  #store(roomId: string, ours: Map<string, OwnChange>, pushed: Set<string> | undefined): void {
    if (ours.size > 0) this.#ours.set(roomId, ours);
    else this.#ours.delete(roomId);
    if (pushed && pushed.size > 0) this.#pushed.set(roomId, pushed);
    else this.#pushed.delete(roomId);
  }
}
