import { Schema, type Connection, type Model } from 'mongoose';

/** When a user last looked at "Chiamate recenti": the missed calls that ended before it are seen. */
export interface CallsSeen {
  ownerId: string;
  seenAt: Date;
}

export type CallsSeenModel = Model<CallsSeen>;

const callsSeenSchema = new Schema<CallsSeen>({
  ownerId: { type: String, required: true },
  seenAt: { type: Date, required: true },
});
callsSeenSchema.index({ ownerId: 1 }, { unique: true });

export function callsSeenModel(connection: Connection): CallsSeenModel {
  return (
    (connection.models.CallsSeen as CallsSeenModel | undefined) ??
    connection.model<CallsSeen>('CallsSeen', callsSeenSchema)
  );
}
