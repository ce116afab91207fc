import { Schema, type Connection, type Model } from 'mongoose';
import { CALL_OUTCOMES, type CallOutcome, type CallRecordView } from '../../shared/schemas/calls.js';

/** One call as one user saw it: an internal call leaves one record for each of the two colleagues. */
export interface CallRecord {
  ownerId: string;
  ownerExtension: string;
  callId: string;
  direction: 'incoming' | 'outgoing';
  peerNumber: string;
  peerName?: string;
  /** Folded number and name, for `q` (FerretDB v1 has no case-insensitive collation). */
  peerSearch: string;
  outcome: CallOutcome;
  sipCode?: number;
  startedAt: Date;
  answeredAt?: Date;
  endedAt?: Date;
  durationSec: number;
  queue?: string;
  clickToCall: boolean;
  /** The peer is an external number (through the trunk), in E.164. */
  external: boolean;
  /** This call is a blind transfer made by this party (the transferee then called the target). */
  transferredBy?: CallParty;
  /** This call was handed over by a blind transfer to this party, who answered. */
  transferredTo?: CallParty;
}

/** A number and, for a colleague, the name it had when the call was recorded. */
export interface CallParty {
  number: string;
  name?: string;
}

export type CallRecordModel = Model<CallRecord>;

const callPartySchema = new Schema<CallParty>(
  {
    number: { type: String, required: true, maxlength: 40 },
    name: { type: String, maxlength: 210 },
  },
  { _id: false },
);

const callRecordSchema = new Schema<CallRecord>({
  ownerId: { type: String, required: true },
  ownerExtension: { type: String, required: true },
  callId: { type: String, required: true, maxlength: 255 },
  direction: { type: String, enum: ['incoming', 'outgoing'], required: true },
  peerNumber: { type: String, required: true, maxlength: 40 },
  peerName: { type: String, maxlength: 210 },
  peerSearch: { type: String, required: true },
  outcome: { type: String, enum: CALL_OUTCOMES, required: true },
  sipCode: { type: Number },
  startedAt: { type: Date, required: true },
  answeredAt: { type: Date },
  endedAt: { type: Date },
  durationSec: { type: Number, required: true, min: 0 },
  queue: { type: String, maxlength: 100 },
  clickToCall: { type: Boolean, default: false },
  external: { type: Boolean, default: false },
  transferredBy: { type: callPartySchema },
  transferredTo: { type: callPartySchema },
});
callRecordSchema.index({ ownerId: 1, startedAt: -1 });
// A replayed event cannot write the same side of a call twice.
callRecordSchema.index({ ownerId: 1, callId: 1 }, { unique: true });

export function callRecordModel(connection: Connection): CallRecordModel {
  return (
    (connection.models.CallRecord as CallRecordModel | undefined) ??
    connection.model<CallRecord>('CallRecord', callRecordSchema)
  );
}

export function toCallRecordView(record: CallRecord & { _id: unknown }): CallRecordView {
  const view: CallRecordView = {
    id: String(record._id),
    direction: record.direction,
    peerNumber: record.peerNumber,
    outcome: record.outcome,
    startedAt: record.startedAt.toISOString(),
    durationSec: record.durationSec,
    clickToCall: record.clickToCall,
    // Records written before external calls existed have no field: they were all internal.
    external: record.external ?? false,
  };
  if (record.peerName) view.peerName = record.peerName;
  if (record.sipCode !== undefined) view.sipCode = record.sipCode;
  if (record.answeredAt) view.answeredAt = record.answeredAt.toISOString();
  if (record.endedAt) view.endedAt = record.endedAt.toISOString();
  if (record.queue) view.queue = record.queue;
  if (record.transferredBy) view.transferredBy = partyView(record.transferredBy);
  if (record.transferredTo) view.transferredTo = partyView(record.transferredTo);
  return view;
}

function partyView(p: CallParty): CallParty {
  return p.name ? { number: p.number, name: p.name } : { number: p.number };
}
