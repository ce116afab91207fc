import { Schema, type Connection, type Model } from 'mongoose';
import type { QueueView } from '../../shared/schemas/queues.js';

/** A call queue: its number rings every member extension at once (see route[QUEUE] of the Kamailio config). */
export interface CallQueue {
  number: string;
  name: string;
  members: string[];
}

export type CallQueueModel = Model<CallQueue>;

const callQueueSchema = new Schema<CallQueue>({
  number: { type: String, required: true, maxlength: 10 },
  name: { type: String, required: true, maxlength: 100 },
  members: { type: [String], required: true },
});
callQueueSchema.index({ number: 1 }, { unique: true });

export function callQueueModel(connection: Connection): CallQueueModel {
  return (
    (connection.models.CallQueue as CallQueueModel | undefined) ??
    connection.model<CallQueue>('CallQueue', callQueueSchema)
  );
}

export function toQueueView(q: CallQueue): QueueView {
  return { number: q.number, name: q.name, members: [...q.members] };
}
