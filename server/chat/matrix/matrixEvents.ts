import { z } from 'zod';

/**
 * The shapes of what Synapse sends the bridge (transactions) and the room events its client API returns, checked
 * with zod: every handler reads an event only through these.
 */

/** A room event in the client-server format, with the fields every handler relies on. */
export const roomEventSchema = z.looseObject({
  type: z.string().min(1),
  room_id: z.string().min(1),
  sender: z.string().min(1),
  event_id: z.string().min(1),
  origin_server_ts: z.number(),
  content: z.record(z.string(), z.unknown()),
  state_key: z.string().optional(),
});

export type MatrixRoomEvent = z.infer<typeof roomEventSchema>;

export const transactionSchema = z.looseObject({
  events: z.array(z.unknown()).default([]),
  // Typing and receipts (MSC2409, Matrix 1.13), sent when the registration has `receive_ephemeral: true`. A
  // Synapse older than 1.156 knows only the unstable flag `de.sorunome.msc2409.push_ephemeral` and its key.
  ephemeral: z.array(z.unknown()).optional(),
  'de.sorunome.msc2409.ephemeral': z.array(z.unknown()).optional(),
});

/** `m.typing`: everyone typing in the room now (not a change: the handler compares with what it knew). */
const typingEventSchema = z.looseObject({
  type: z.literal('m.typing'),
  room_id: z.string().min(1),
  content: z.looseObject({ user_ids: z.array(z.string().min(1)) }),
});

/** `m.receipt`: `{ <eventId>: { <receipt type>: { <mxid>: { ts, thread_id? } } } }`. */
const receiptEventSchema = z.looseObject({
  type: z.literal('m.receipt'),
  room_id: z.string().min(1),
  content: z.record(
    z.string().min(1),
    z.record(
      z.string(),
      z.record(
        z.string().min(1),
        z.looseObject({ ts: z.number().optional(), thread_id: z.string().optional() }),
      ),
    ),
  ),
});

/** One user's receipt from an `m.receipt` event, flattened. */
export interface MatrixReceipt {
  eventId: string;
  /** `m.read`, or `m.read.private` (sent to us only for users in our namespace). */
  receiptType: string;
  userId: string;
  /** The homeserver's time of the receipt, when it gave one. */
  ts?: number;
  /** Set for a threaded receipt: `main`, or the thread's root event. */
  threadId?: string;
}

/** The ephemeral data of a transaction that the handlers use; presence and other types are dropped. */
export type MatrixEphemeral =
  | { type: 'm.typing'; roomId: string; userIds: string[] }
  | { type: 'm.receipt'; roomId: string; receipts: MatrixReceipt[] };

/**
 * The typing and receipt events Synapse pushed, checked and flattened. Other types (presence, which our Synapse
 * has off) are left out silently; malformed typing or receipts are counted.
 */
export function parseEphemeral(raw: unknown[]): { events: MatrixEphemeral[]; skipped: number } {
  const events: MatrixEphemeral[] = [];
  let skipped = 0;
  for (const item of raw) {
    const type = asRecord(item)?.type;
    if (type === 'm.typing') {
      const typing = typingEventSchema.safeParse(item);
      if (typing.success) {
        events.push({ type, roomId: typing.data.room_id, userIds: typing.data.content.user_ids });
      } else skipped++;
    } else if (type === 'm.receipt') {
      const receipt = receiptEventSchema.safeParse(item);
      if (!receipt.success) {
        skipped++;
        continue;
      }
      events.push({ type, roomId: receipt.data.room_id, receipts: flattenReceipts(receipt.data.content) });
    }
  }
  return { events, skipped };
}

function flattenReceipts(content: z.infer<typeof receiptEventSchema>['content']): MatrixReceipt[] {
  const receipts: MatrixReceipt[] = [];
  for (const [eventId, byType] of Object.entries(content)) {
    for (const [receiptType, byUser] of Object.entries(byType)) {
      for (const [userId, data] of Object.entries(byUser)) {
        const entry: MatrixReceipt = { eventId, receiptType, userId };
        if (data.ts !== undefined) entry.ts = data.ts;
        if (data.thread_id !== undefined) entry.threadId = data.thread_id;
        receipts.push(entry);
      }
    }
  }
  return receipts;
}

/** The room events of a list (a transaction's, a history page's) that have the expected shape. */
export function roomEventsOf(raw: unknown[]): { events: MatrixRoomEvent[]; skipped: number } {
  const events: MatrixRoomEvent[] = [];
  for (const item of raw) {
    const event = roomEventSchema.safeParse(item);
    if (event.success) events.push(event.data);
  }
  return { events, skipped: raw.length - events.length };
}

/** An object, as opposed to an array or a primitive; event content is read field by field from here. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
