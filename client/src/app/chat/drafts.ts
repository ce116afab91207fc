/** Unsent text per conversation: it survives switching conversations and reloads (sessionStorage, this tab). */
const DRAFT_KEY = 'ucc.draft.';

export function readDraft(roomId: string): string {
  try {
    return sessionStorage.getItem(DRAFT_KEY + roomId) ?? '';
  } catch {
    return '';
  }
}

export function writeDraft(roomId: string, text: string): void {
  try {
    if (text) sessionStorage.setItem(DRAFT_KEY + roomId, text);
    else sessionStorage.removeItem(DRAFT_KEY + roomId);
  } catch {
    // Storage disabled: the draft lives as long as the view.
  }
}

/** A client transaction id: a retried send carries the same one, so the server cannot store it twice. */
export function txnId(): string {
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}
