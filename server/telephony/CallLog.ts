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
import { isDuplicateKey } from '../db/duplicateKey.js';

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
  /** Queue members whose phones turned the call down, with the code (486, 600, 603). */
  refusals?: Map<string, number>;
  /** This call is a transfer made by this extension, of the call `transferOf`. */
  transferredBy?: string;
  transferOf?: string;
  /** This call was handed over (blind transfer) to this number, which answered. */
  transferredTo?: string;
}

/** A REFER seen in call `callId`: the transferee's next call to the target is its transfer. */
interface PendingTransfer {
  by: string;
  callId: string;
  until: number;
}

type EndEvent = Extract<PbxCallEvent, { type: 'failed' | 'ended' }>;
type Party = { _id: unknown; extension: string; firstName: string; lastName: string };

export interface CallLogEvents {
  /** A call ended and its records are saved (one per directory user in it). */
  recorded: [callId: string, records: number];
  /** These users' lists changed (a call of theirs was recorded) or they looked at it (the badge is 0). */
  changed: [ownerIds: string[], reason: CallsChangeReason];
}

const MAX_ROWS = 100;
/**
 * Rang and nobody answered, as the "perse" filter and the badge count them: a call the user turned down (busy,
 * rejected) is not one they missed.
 */
const MISSED = { direction: 'incoming', outcome: 'missed' } as const;
/** A call that never ends (lost BYE, lost events) is dropped from memory after this. */
const LIVE_CALL_TTL_MS = 12 * 3_600_000;
/** How long after a REFER the transferee's call to the target counts as the transfer (as for click-to-call). */
const TRANSFER_WINDOW_MS = 60_000;

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
  /** Blind transfers under way: `${transferee}>${target}` → the REFER. */
  readonly #transfers = new Map<string, PendingTransfer>();

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
        // The transferee calling the target of a REFER just seen: this call is that transfer.
        const pending = this.#transfers.get(key);
        if (pending) this.#transfers.delete(key);
        const transfer = pending && pending.until >= event.at ? pending : undefined;
        const transferredBy = transfer?.by ?? event.referredBy;
        this.#live.set(event.callId, {
          callId: event.callId,
          from: event.from,
          to: event.to,
          startedAt: event.at,
          clickToCall,
          external: event.external === true,
          ...(event.queue !== undefined ? { queue: event.queue } : {}),
          ...(transferredBy !== undefined ? { transferredBy } : {}),
          ...(transfer ? { transferOf: transfer.callId } : {}),
        });
        return;
      }
      case 'queued': {
        const call = this.#live.get(event.callId);
        if (call) call.members = event.members;
        return;
      }
      case 'memberRefused': {
        const call = this.#live.get(event.callId);
        if (call) (call.refusals ??= new Map()).set(event.member, event.code);
        return;
      }
      case 'transfer':
        this.#onTransfer(event);
        return;
      case 'ringing':
        return;
      case 'answered': {
        const call = this.#live.get(event.callId);
        if (call && call.answeredAt === undefined) {
          call.answeredAt = event.at;
          if (event.member !== undefined) call.member = event.member;
          // The target took the transferred call: the first call was handed over to it.
          if (call.transferOf !== undefined) this.#transferred(call.transferOf, call.to);
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
    for (const [key, t] of this.#transfers) if (t.until < now) this.#transfers.delete(key);
  }

  /** A REFER in a live call: the other party (the transferee) is asked to call `to`. */
  #onTransfer(event: Extract<PbxCallEvent, { type: 'transfer' }>): void {
    const call = this.#live.get(event.callId);
    if (!call) return;
    // A member who took a queue call sends its in-dialog requests From the queue's number (the dialog's To).
    const callee = call.queue !== undefined ? call.member : call.to;
    const by = call.queue !== undefined && event.by === call.to ? call.member : event.by;
    const transferee = by === call.from ? callee : by !== undefined && by === callee ? call.from : undefined;
    if (by === undefined || transferee === undefined) return;
    this.#transfers.set(`${transferee}>${event.to}`, {
      by,
      callId: call.callId,
      until: event.at + TRANSFER_WINDOW_MS,
    });
  }

  /** Call `callId` was handed over to `to`: in memory while it lasts, else on its saved records. */
  #transferred(callId: string, to: string): void {
    const first = this.#live.get(callId);
    if (first) {
      first.transferredTo = to;
      return;
    }
    void this.#markSaved(callId, to).catch((err: unknown) =>
      this.#log.error({ err, callId }, 'could not record the transfer'),
    );
  }

  async #markSaved(callId: string, to: string): Promise<void> {
    const user = await this.#users.findOne({ extension: to }, { firstName: 1, lastName: 1 }).lean();
    const owners = await this.#records.find({ callId }, { ownerId: 1 }).lean();
    if (owners.length === 0) return;
    await this.#records.updateMany({ callId }, { $set: { transferredTo: party(to, user ?? undefined) } });
    this.safeEmit(
      'changed',
      owners.map((o) => o.ownerId),
      'recorded',
    );
  }

  /** The directory users among `numbers`, by extension. */
  async #parties(numbers: (string | undefined)[]): Promise<Map<string, Party>> {
    const wanted = numbers.filter((n): n is string => n !== undefined);
    const users = await this.#users
      .find({ extension: { $in: wanted } }, { extension: 1, firstName: 1, lastName: 1 })
      .lean();
    return new Map(users.map((u) => [u.extension, u]));
  }

  /** What every record of a call shares, whoever's side it is. */
  #baseRecord(call: LiveCall, end: EndEvent, byExtension: Map<string, Party>) {
    const code = end.type === 'failed' ? end.code : undefined;
    const answeredAt = call.answeredAt;
    return {
      callId: call.callId,
      startedAt: new Date(call.startedAt),
      endedAt: new Date(end.at),
      durationSec: answeredAt !== undefined ? Math.max(0, Math.round((end.at - answeredAt) / 1000)) : 0,
      clickToCall: call.clickToCall,
      external: call.external,
      ...(answeredAt !== undefined ? { answeredAt: new Date(answeredAt) } : {}),
      ...(code !== undefined ? { sipCode: code } : {}),
      ...(call.transferredBy !== undefined
        ? { transferredBy: party(call.transferredBy, byExtension.get(call.transferredBy)) }
        : {}),
      ...(call.transferredTo !== undefined
        ? { transferredTo: party(call.transferredTo, byExtension.get(call.transferredTo)) }
        : {}),
    };
  }

  /** Writes a call's records and tells their owners. */
  async #insert(call: LiveCall, docs: CallRecord[]): Promise<void> {
    if (docs.length > 0) await this.#records.insertMany(docs, { ordered: false });
    this.safeEmit('recorded', call.callId, docs.length);
    if (docs.length > 0)
      this.safeEmit(
        'changed',
        docs.map((d) => d.ownerId),
        'recorded',
      );
  }

  async #save(call: LiveCall, end: EndEvent): Promise<void> {
    if (call.queue !== undefined) return this.#saveQueueCall(call, call.queue, end);
    const byExtension = await this.#parties([call.from, call.to, call.transferredBy, call.transferredTo]);
    const caller = byExtension.get(call.from);
    const callee = byExtension.get(call.to);
    const answered = call.answeredAt !== undefined;
    const code = end.type === 'failed' ? end.code : undefined;
    const base = this.#baseRecord(call, end, byExtension);
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
        outcome: answered ? 'answered' : calleeOutcome(code),
      });
    }
    await this.#insert(call, docs);
  }

  /**
   * A queue call: the caller's record (peer: the queue, by name) and the members'. Answered: only the member who
   * answered gets one (the others have nothing to call back). Not answered: every member it rang gets one, so
   * that the call can be returned: missed, or busy / rejected for a member whose phone turned it down. Members'
   * records carry `queue` (the filter "da una coda").
   */
  async #saveQueueCall(call: LiveCall, queue: string, end: EndEvent): Promise<void> {
    const name = (await this.#queueName(queue)) ?? queue;
    const answered = call.answeredAt !== undefined;
    const members = answered ? (call.member !== undefined ? [call.member] : []) : (call.members ?? []);
    const byExtension = await this.#parties([call.from, ...members, call.transferredBy, call.transferredTo]);
    const caller = byExtension.get(call.from);
    const code = end.type === 'failed' ? end.code : undefined;
    const base = { ...this.#baseRecord(call, end, byExtension), external: false };
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
        // Each member's own answer: one who turned it down did not miss it, whatever the queue's final code
        // (an edge that does not say which member refused: the final code, for all).
        outcome: answered ? 'answered' : calleeOutcome(call.refusals ? call.refusals.get(extension) : code),
        queue: name,
      });
    }
    await this.#insert(call, docs);
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

/** A transferor or transfer target as a record names it: the number, and a colleague's name. */
function party(
  number: string,
  user: { firstName: string; lastName: string } | undefined,
): { number: string; name?: string } {
  return user ? { number, name: displayName(user) } : { number };
}

/**
 * The phone that rang turned the call down: 603 Decline is the user's "Rifiuta" (the web phone's, SIP.js's
 * reject); 486 Busy Here and 600 Busy Everywhere are a phone busy on another call, and many desk phones' reject
 * (baresip's), which cannot be told apart. Neither is a missed call.
 */
function refusalOutcome(code: number | undefined): CallOutcome | undefined {
  if (code === 603) return 'rejected';
  if (code === 486 || code === 600) return 'busy';
  return undefined;
}

/** The caller's side of a call that was not answered. */
function callerOutcome(code: number | undefined): CallOutcome {
  const refused = refusalOutcome(code);
  if (refused) return refused;
  if (code === 487) return 'cancelled';
  if (code === 408 || code === 480) return 'missed';
  return 'failed';
}

/** The callee's side of a call that was not answered: missed, unless their phone turned it down. */
function calleeOutcome(code: number | undefined): CallOutcome {
  return refusalOutcome(code) ?? 'missed';
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
