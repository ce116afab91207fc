/**
 * Colleagues' presence, for every list that shows it: one store per page, fed by the user socket's
 * `presence.changed` (pushed to every signed-in user) and by `GET /api/presence` for ids a list asks about that
 * it has not read yet. A reconnection reads every known id again: pushes sent while disconnected are lost.
 */
import type { PresenceState, PresenceView } from '../../../../shared/schemas/presence.js';
import { api } from '../api/api.js';
import type { UserSocket } from '../api/userSocket.js';

/** The server's cap on one read (PRESENCE_MAX_IDS). */
const BATCH = 200;

export class PresenceStore {
  readonly #states = new Map<string, PresenceState>();
  readonly #asked = new Set<string>();
  readonly #queued = new Set<string>();
  readonly #listeners = new Set<() => void>();
  #version = 0;
  #flushing = false;

  /** Follows one socket's pushes; returns what stops it. */
  attach(socket: UserSocket): () => void {
    const onChanged = (view: PresenceView): void => this.#set([view]);
    const onReconnect = (): void => this.want([...this.#asked], true);
    socket.on('presence.changed', onChanged);
    socket.io.on('reconnect', onReconnect);
    return () => {
      socket.off('presence.changed', onChanged);
      socket.io.off('reconnect', onReconnect);
    };
  }

  get(userId: string): PresenceState | undefined {
    return this.#states.get(userId);
  }

  /** Reads these ids (once each unless `again`), batched with the other asks of the same tick. */
  want(userIds: readonly string[], again = false): void {
    let added = false;
    for (const id of userIds) {
      if (!again && this.#asked.has(id)) continue;
      this.#asked.add(id);
      this.#queued.add(id);
      added = true;
    }
    if (added && !this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    const ids = [...this.#queued];
    this.#queued.clear();
    this.#flushing = false;
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      try {
        const res = await api<{ presence: PresenceView[] }>(
          'GET',
          `/api/presence?ids=${batch.map(encodeURIComponent).join(',')}`,
        );
        this.#set(res.presence);
      } catch {
        // Not fatal: a dot is missing until the next push. Asked again at the next reconnection.
      }
    }
  }

  #set(views: PresenceView[]): void {
    for (const v of views) this.#states.set(v.userId, v.state);
    this.#version += 1;
    for (const listener of this.#listeners) listener();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  version = (): number => this.#version;
}

/** The page's one store. */
export const presenceStore = new PresenceStore();
