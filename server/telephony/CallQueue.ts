import { Schema, type Connection, type Model } from 'mongoose';
import type { QueueView } from '../../shared/schemas/queues.js';
import type { NumberHolder } from '../directory/NumberPlan.js';

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

/** The queues' side of the numbering plan shared with users' extensions (directory/NumberPlan). */
export function queueHolder(queues: CallQueueModel): NumberHolder {
  return async (number) => {
    const queue = await queues.findOne({ number }, { name: 1 }).lean();
    return queue ? `the number of the call queue "${queue.name}"` : undefined;
  };
}
