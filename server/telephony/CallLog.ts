import type { FilterQuery } from 'mongoose';
import type { CallsChangeReason } from '../../shared/protocol.js';
import type { CallOutcome, CallsQuery, CallsView, MissedCallsView } from '../../shared/schemas/calls.js';
import type { Clock } from '../clock.js';
import { displayName, foldForSearch, type UserModel } from '../directory/User.js';
import type { Logger } from '../logger.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import { toCallRecordView, type CallRecord, type CallRecordModel } from './CallRecord.js';
import type { CallsSeenModel } from './CallsSeen.js';
import type { PbxCallEvent } from './PbxAdapter.js';

interface LiveCall {
  callId: string;
  from: string;
  to: string;
  startedAt: number;
  answeredAt?: number;
  clickToCall: boolean;
  external: boolean;
  /** A queue call: the queue's number, the members it rang and the one who answered. */
  queue?: string;
  members?: string[];
  member?: string;
}

export interface CallLogEvents {
  /** A call ended and its records are saved (one per directory user in it). */
  recorded: [callId: string, records: number];
  /** These users' lists changed (a call of theirs was recorded) or they looked at it (the badge is 0). */
  changed: [ownerIds: string[], reason: CallsChangeReason];
}

const MAX_ROWS = 100;
/** Not answered, as the "perse" filter and the badge count them. */
const MISSED = { direction: 'incoming', outcome: { $ne: 'answered' } } as const;
/** A call that never ends (lost BYE, lost events) is dropped from memory after this. */
const LIVE_CALL_TTL_MS = 12 * 3_600_000;

/**
 * "Chiamate recenti": turns the PBX's live call events into one CallRecord per directory user in the call, and
 * answers each user's list. Calls in progress are kept in memory; a record is written when the call ends.
 */
export class CallLog extends SafeEmitter<CallLogEvents> {
  readonly #records: CallRecordModel;
  readonly #seen: CallsSeenModel;
  readonly #users: UserModel;
  readonly #queueName: (number: string) => Promise<string | undefined>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #live = new Map<string, LiveCall>();
  /** Click-to-call requests waiting for the phone to dial: `${from}>${to}` → until when. */
  readonly #clickToCall = new Map<string, number>();

  constructor(deps: {
    records: CallRecordModel;
    seen: CallsSeenModel;
    users: UserModel;
    /** A queue's name by its number (the records say "Assistenza", not "600"). */
    queueName?: (number: string) => Promise<string | undefined>;
    clock: Clock;
    logger: Logger;
  }) {
    super(deps.logger);
    this.#records = deps.records;
    this.#seen = deps.seen;
    this.#users = deps.users;
    this.#queueName = deps.queueName ?? (() => Promise.resolve(undefined));
    this.#clock = deps.clock;
    this.#log = deps.logger;
  }

  /** The next call from `from` to `to` within a minute is recorded as click-to-call. */
  expectClickToCall(from: string, to: string): void {
    this.#clickToCall.set(`${from}>${to}`, this.#clock.now() + 60_000);
  }

  handle(event: PbxCallEvent): void {
    switch (event.type) {
      case 'start': {
        this.#prune(event.at);
        const key = `${event.from}>${event.to}`;
        const until = this.#clickToCall.get(key);
        const clickToCall = until !== undefined && until >= event.at;
        if (clickToCall) this.#clickToCall.delete(key);
        this.#live.set(event.callId, {
          callId: event.callId,
          from: event.from,
          to: event.to,
          startedAt: event.at,
          clickToCall,
          external: event.external === true,
          ...(event.queue !== undefined ? { queue: event.queue } : {}),
        });
        return;
      }
      case 'queued': {
        const call = this.#live.get(event.callId);
        if (call) call.members = event.members;
        return;
      }
      case 'ringing':
        return;
      case 'answered': {
        const call = this.#live.get(event.callId);
        if (call && call.answeredAt === undefined) {
          call.answeredAt = event.at;
          if (event.member !== undefined) call.member = event.member;
        }
        return;
      }
      case 'failed':
      case 'ended': {
        const call = this.#live.get(event.callId);
        if (!call) return;
        // A failed INVITE after an answer is a glare of retransmissions, not the end of the call.
        if (event.type === 'failed' && call.answeredAt !== undefined) return;
        this.#live.delete(event.callId);
        void this.#save(call, event).catch((err: unknown) =>
          this.#log.error({ err, callId: call.callId }, 'could not save the call record'),
        );
        return;
      }
    }
  }

  #prune(now: number): void {
    for (const [id, call] of this.#live) if (now - call.startedAt > LIVE_CALL_TTL_MS) this.#live.delete(id);
    for (const [key, until] of this.#clickToCall) if (until < now) this.#clickToCall.delete(key);
  }

  async #save(call: LiveCall, end: Extract<PbxCallEvent, { type: 'failed' | 'ended' }>): Promise<void> {
    if (call.queue !== undefined) return this.#saveQueueCall(call, call.queue, end);
    const parties = await this.#users
      .find({ extension: { $in: [call.from, call.to] } }, { extension: 1, firstName: 1, lastName: 1 })
      .lean();
    const byExtension = new Map(parties.map((u) => [u.extension, u]));
    const caller = byExtension.get(call.from);
    const callee = byExtension.get(call.to);
    const answered = call.answeredAt !== undefined;
    const code = end.type === 'failed' ? end.code : undefined;
    const durationSec = answered ? Math.max(0, Math.round((end.at - (call.answeredAt ?? end.at)) / 1000)) : 0;
    const base = {
      callId: call.callId,
      startedAt: new Date(call.startedAt),
      endedAt: new Date(end.at),
      durationSec,
      clickToCall: call.clickToCall,
      external: call.external,
      ...(call.answeredAt !== undefined ? { answeredAt: new Date(call.answeredAt) } : {}),
      ...(code !== undefined ? { sipCode: code } : {}),
    };
    const docs: CallRecord[] = [];
    if (caller) {
      docs.push({
        ...base,
        ownerId: String(caller._id),
        ownerExtension: call.from,
        direction: 'outgoing',
        peerNumber: call.to,
        ...peer(call.to, callee),
        outcome: answered ? 'answered' : callerOutcome(code),
      });
    }
    if (callee) {
      docs.push({
        ...base,
        ownerId: String(callee._id),
        ownerExtension: call.to,
        direction: 'incoming',
        peerNumber: call.from,
        ...peer(call.from, caller),
        outcome: answered ? 'answered' : code === 486 || code === 600 ? 'busy' : 'missed',
      });
    }
    if (docs.length > 0) await this.#records.insertMany(docs, { ordered: false });
    this.safeEmit('recorded', call.callId, docs.length);
    if (docs.length > 0)
      this.safeEmit(
        'changed',
        docs.map((d) => d.ownerId),
        'recorded',
      );
  }

  /**
   * A queue call: the caller's record (peer: the queue, by name) and the members'. Answered: only the member who
   * answered gets one (the others have nothing to call back). Not answered: every member it rang gets a missed
   * (or busy) one, so that the call can be returned. Members' records carry `queue` (the filter "da una coda").
   */
  async #saveQueueCall(
    call: LiveCall,
    queue: string,
    end: Extract<PbxCallEvent, { type: 'failed' | 'ended' }>,
  ): Promise<void> {
    const name = (await this.#queueName(queue)) ?? queue;
    const answered = call.answeredAt !== undefined;
    const members = answered ? (call.member !== undefined ? [call.member] : []) : (call.members ?? []);
    const parties = await this.#users
      .find({ extension: { $in: [call.from, ...members] } }, { extension: 1, firstName: 1, lastName: 1 })
      .lean();
    const byExtension = new Map(parties.map((u) => [u.extension, u]));
    const caller = byExtension.get(call.from);
    const code = end.type === 'failed' ? end.code : undefined;
    const durationSec = answered ? Math.max(0, Math.round((end.at - (call.answeredAt ?? end.at)) / 1000)) : 0;
    const base = {
      callId: call.callId,
      startedAt: new Date(call.startedAt),
      endedAt: new Date(end.at),
      durationSec,
      clickToCall: call.clickToCall,
      external: false,
      ...(call.answeredAt !== undefined ? { answeredAt: new Date(call.answeredAt) } : {}),
      ...(code !== undefined ? { sipCode: code } : {}),
    };
    const docs: CallRecord[] = [];
    if (caller) {
      docs.push({
        ...base,
        ownerId: String(caller._id),
        ownerExtension: call.from,
        direction: 'outgoing',
        peerNumber: queue,
        peerName: name,
        peerSearch: `${queue} ${foldForSearch(name)}`,
        outcome: answered ? 'answered' : callerOutcome(code),
      });
    }
    for (const extension of members) {
      const member = byExtension.get(extension);
      if (!member) continue;
      docs.push({
        ...base,
        ownerId: String(member._id),
        ownerExtension: extension,
        direction: 'incoming',
        peerNumber: call.from,
        ...peer(call.from, caller),
        outcome: answered ? 'answered' : code === 486 || code === 600 ? 'busy' : 'missed',
        queue: name,
      });
    }
    if (docs.length > 0) await this.#records.insertMany(docs, { ordered: false });
    this.safeEmit('recorded', call.callId, docs.length);
    if (docs.length > 0)
      this.safeEmit(
        'changed',
        docs.map((d) => d.ownerId),
        'recorded',
      );
  }

  async list(ownerId: string, query: CallsQuery): Promise<CallsView> {
    const filter: FilterQuery<CallRecord> = { ownerId };
    switch (query.filter) {
      case 'received':
        Object.assign(filter, { direction: 'incoming', outcome: 'answered' });
        break;
      case 'missed':
        Object.assign(filter, MISSED);
        break;
      case 'outgoing':
        filter.direction = 'outgoing';
        break;
      case 'queue':
        filter.queue = { $exists: true };
        break;
      case 'all':
        break;
    }
    if (query.q) filter.peerSearch = { $regex: escapeRegex(foldForSearch(query.q)) };
    const rows = await this.#records.find(filter).sort({ startedAt: -1 }).limit(MAX_ROWS).lean();
    return { calls: rows.map(toCallRecordView) };
  }

  /** The badge: missed calls that ended after the user last looked, at most the list's 100. */
  async missed(ownerId: string): Promise<MissedCallsView> {
    const seen = await this.#seen.findOne({ ownerId }, { seenAt: 1 }).lean();
    const filter: FilterQuery<CallRecord> = { ownerId, ...MISSED };
    if (seen) filter.endedAt = { $gt: seen.seenAt };
    const rows = await this.#records.find(filter, { _id: 1 }).sort({ startedAt: -1 }).limit(MAX_ROWS).lean();
    return { missed: rows.length, ...(seen ? { seenAt: seen.seenAt.toISOString() } : {}) };
  }

  /** The user looked at the list: every missed call so far is seen, on all their devices. */
  async markSeen(ownerId: string): Promise<MissedCallsView> {
    const at = new Date(this.#clock.now());
    // $max: a late request from a slow device never moves the mark back.
    const mark = (): Promise<unknown> =>
      this.#seen.updateOne({ ownerId }, { $max: { seenAt: at } }, { upsert: true });
    await mark().catch((err: unknown) => {
      // Two first looks at once: both upserts insert, the unique index keeps one; this one now updates it.
      if (!isDuplicateKey(err)) throw err;
      return mark();
    });
    this.safeEmit('changed', [ownerId], 'seen');
    return this.missed(ownerId);
  }
}

function peer(
  number: string,
  user: { firstName: string; lastName: string } | undefined,
): { peerName?: string; peerSearch: string } {
  if (!user) return { peerSearch: number };
  const name = displayName(user);
  return { peerName: name, peerSearch: `${number} ${foldForSearch(name)} ${foldForSearch(user.firstName)}` };
}

/** The caller's side of a call that was not answered. */
function callerOutcome(code: number | undefined): CallOutcome {
  if (code === 486 || code === 600) return 'busy';
  if (code === 487) return 'cancelled';
  if (code === 408 || code === 480) return 'missed';
  return 'failed';
}

/** A unique index refused a second document (MongoDB's and FerretDB's code). */
function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
