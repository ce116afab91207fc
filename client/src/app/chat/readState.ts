import type { ChatRoomView } from '../../../../shared/schemas/chat.js';
import type { Translate } from '../i18n/i18n.js';
import type { Shown } from './messageList.js';

/**
 * The read state under one's newest stored message, from the room's `reads` (the server's): "Consegnato",
 * "Letto" in a DM, "Letto da tutti" or "Letto da n" in a group. `eventId` is that message (none: no label).
 */
export function readLabelOf(
  room: ChatRoomView,
  shown: Shown[],
  myMxid: string,
  t: Translate,
): { eventId: string | undefined; label: string; byOthers: boolean } {
  const others = room.members.filter((m) => m.mxid !== myMxid);
  const mineLast = [...shown].reverse().find((m) => m.sender.mxid === myMxid && !m.pending);
  const readers = mineLast
    ? room.reads.filter((r) => r.mxid !== myMxid && (r.eventId === mineLast.eventId || r.ts >= mineLast.ts))
    : [];
  const label =
    readers.length === 0
      ? t('delivered')
      : room.kind === 'dm'
        ? t('read')
        : readers.length >= others.length
          ? t('readByAll')
          : t('readBy', { n: readers.length });
  return { eventId: mineLast?.eventId, label, byOthers: readers.length > 0 };
}
