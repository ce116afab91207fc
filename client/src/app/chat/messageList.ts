/** The message list of a conversation as pure functions: merging pages, live messages and edits. */
import type { ChatMessageView } from '../../../../shared/schemas/chat.js';

/** Messages per history page; a shorter page means the start of the room. */
export const PAGE = 30;

/** A message as shown: the original with its latest edit applied, or one of ours still being sent. */
export interface Shown extends ChatMessageView {
  edited?: boolean;
  pending?: 'sending' | 'failed';
  /** Ours, not yet confirmed: the idempotency key a retry sends again. */
  txnId?: string;
}

/** The token for older messages; a short page means the start of the room was reached. */
export function endOf(page: { items: ChatMessageView[]; next?: string }): string | null {
  return page.next && page.items.length >= PAGE ? page.next : null;
}

/** Adds new originals (not edits) to the time-ordered list, once each. */
export function merge(existing: Shown[], incoming: ChatMessageView[]): Shown[] {
  const byId = new Map(existing.map((m) => [m.eventId, m]));
  for (const m of incoming) if (!m.edits && !byId.has(m.eventId)) byId.set(m.eventId, m);
  return [...byId.values()].sort((a, b) => a.ts - b.ts);
}

/**
 * Edits by the target's event id, the newest kept. They are held apart from the list because an edit often
 * arrives in a newer page than the message it changes.
 */
export function mergeEdits(
  existing: Map<string, ChatMessageView>,
  incoming: ChatMessageView[],
): Map<string, ChatMessageView> {
  let out = existing;
  for (const e of incoming) {
    if (!e.edits) continue;
    const known = out.get(e.edits);
    if (known && known.ts > e.ts) continue;
    if (out === existing) out = new Map(existing);
    out.set(e.edits, e);
  }
  return out;
}

/** The message as it reads now: an edit applies only when its author wrote the original. */
export function applyEdit(m: Shown, edit: ChatMessageView | undefined): Shown {
  if (!edit || edit.sender.mxid !== m.sender.mxid) return m;
  const out: Shown = { ...m, body: edit.body, edited: true };
  if (edit.formattedBody) out.formattedBody = edit.formattedBody;
  else delete out.formattedBody;
  return out;
}
