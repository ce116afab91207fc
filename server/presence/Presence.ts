import type { PresenceState, PresenceView } from '../../shared/schemas/presence.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import type { UserModel } from '../directory/User.js';
import type { Logger } from '../logger.js';
import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import type { PbxAdapter, PbxCallEvent, PbxRegistrationEvent } from '../telephony/PbxAdapter.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import { presenceOf } from './presenceRules.js';

/** A directory user's seat in a meeting as this node's gate decided it, for the other nodes' presence. */
export type SeatChange =
  | { type: 'joined'; participantId: string; userId: string; meetingId: string }
  | { type: 'left'; participantId: string }
  | { type: 'closed'; meetingId: string };

export interface PresenceEvents {
  /** A user's state changed (only real changes: the same state twice is not sent). */
  changed: [view: PresenceView];
  /**
   * A seat this node's gate gave or took (a meeting lives on one node): the other nodes apply it (`seatElsewhere`),
   * so that every node knows who is in a meeting and all compute the same states.
   */
  seat: [change: SeatChange];
}

export interface PresenceOptions {
  /** Undefined when telephony is off: then only meetings move anyone out of `offline`. */
  pbx: PbxAdapter | undefined;
  users: UserModel;
  directoryEvents: DirectoryEvents;
  gate: Pick<AdmissionGate, 'on' | 'off'>;
  /** The directory user behind a socket (the gate names sockets and participants, not users). */
  userOfSocket: (socketId: string) => string | undefined;
  logger: Logger;
}

interface Seat {
  userId: string;
  meetingId: string;
  /** Given by this node's gate (not heard from another node). */
  own: boolean;
}

/**
 * Who is available, on a call, in a meeting or offline, kept in memory from three live sources: the PBX's call
 * events (dialogs by Call-ID), its registration events (each one answered by reading the extension's bindings,
 * the truth, rather than by counting events) and the admission gate's participants. A (re)connection to the PBX
 * reads every binding again and forgets the calls it knew (a restarted Kamailio has none; their ends would never
 * come). Changes go out as `changed`.
 */
export class Presence extends SafeEmitter<PresenceEvents> {
  readonly #o: PresenceOptions;
  readonly #log: Logger;
  readonly #extensionOf = new Map<string, string>();
  readonly #userOf = new Map<string, string>();
  readonly #registrations = new Map<string, number>();
  readonly #calls = new Map<string, { from: string; to: string }>();
  readonly #seats = new Map<string, Seat>();
  readonly #last = new Map<string, PresenceState>();
  readonly #refreshes = new KeyedSerial();
  readonly #off: (() => void)[] = [];
  /** Bumped by each full reload: a per-extension read started before it must not overwrite its answer. */
  #generation = 0;
  #closed = false;

  private constructor(options: PresenceOptions) {
    const log = options.logger.child({ component: 'presence' });
    super(log);
    this.#o = options;
    this.#log = log;
  }

  /** Loads the directory and the current bindings, then follows the live sources. */
  static async create(options: PresenceOptions): Promise<Presence> {
    const presence = new Presence(options);
    const users = await options.users.find({}, { extension: 1 }).lean();
    for (const u of users) presence.#remember(String(u._id), u.extension);
    presence.#listen();
    await presence.#reload();
    return presence;
  }

  /** The state of these users; ids that are no user are left out. */
  async read(userIds: string[]): Promise<PresenceView[]> {
    const missing = userIds.filter((id) => !this.#extensionOf.has(id));
    if (missing.length > 0) {
      const found = await this.#o.users.find({ _id: { $in: missing } }, { extension: 1 }).lean();
      for (const u of found) this.#remember(String(u._id), u.extension);
    }
    const out: PresenceView[] = [];
    for (const userId of userIds) {
      const extension = this.#extensionOf.get(userId);
      if (extension !== undefined) out.push({ userId, extension, state: this.#stateOf(userId, extension) });
    }
    return out;
  }

  #listen(): void {
    const { pbx, directoryEvents: directory, gate } = this.#o;
    if (pbx) {
      const onCall = (e: PbxCallEvent): void => this.#onCall(e);
      const onRegistration = (e: PbxRegistrationEvent): void => this.#onRegistration(e);
      const onReconnect = (): void => {
        this.#calls.clear();
        void this.#reload();
      };
      pbx.on('call', onCall);
      pbx.on('registration', onRegistration);
      pbx.on('reprovisioned', onReconnect);
      this.#off.push(() => {
        pbx.off('call', onCall);
        pbx.off('registration', onRegistration);
        pbx.off('reprovisioned', onReconnect);
      });
    }
    const onUser = (u: { id: string; extension: string }): void => {
      const before = this.#extensionOf.get(u.id);
      if (before !== undefined && before !== u.extension) this.#userOf.delete(before);
      this.#remember(u.id, u.extension);
      this.#update(u.id);
    };
    // A disabled user's phones are dropped by the PBX (ul.rm, no event): read the bindings again.
    const onDisabled = (u: { id: string; extension: string }): void => this.#refresh(u.extension);
    const onDeleted = (u: { id: string; extension: string }): void => {
      this.#extensionOf.delete(u.id);
      this.#userOf.delete(u.extension);
      this.#last.delete(u.id);
    };
    directory.on('user.created', onUser);
    directory.on('user.updated', onUser);
    directory.on('user.disabled', onDisabled);
    directory.on('user.deleted', onDeleted);
    this.#off.push(() => {
      directory.off('user.created', onUser);
      directory.off('user.updated', onUser);
      directory.off('user.disabled', onDisabled);
      directory.off('user.deleted', onDeleted);
    });

    const onJoined = (
      meetingId: string,
      p: { participantId: string; kind: string },
      socketId: string,
    ): void => {
      if (p.kind !== 'user') return;
      const userId = this.#o.userOfSocket(socketId);
      if (!userId) return;
      this.#applySeat({ type: 'joined', participantId: p.participantId, userId, meetingId });
    };
    const onLeft = (_meetingId: string, participantId: string): void => {
      this.#applySeat({ type: 'left', participantId });
    };
    const onClosed = (meetingId: string): void => {
      this.#applySeat({ type: 'closed', meetingId });
    };
    gate.on('participantJoined', onJoined);
    gate.on('participantLeft', onLeft);
    gate.on('sessionClosed', onClosed);
    this.#off.push(() => {
      gate.off('participantJoined', onJoined);
      gate.off('participantLeft', onLeft);
      gate.off('sessionClosed', onClosed);
    });
  }

  /** A seat another node's gate gave or took (its `seat` event): applied here, not sent on. */
  seatElsewhere(change: SeatChange): void {
    this.#applySeat(change, false);
  }

  #applySeat(change: SeatChange, own = true): void {
    const touched = new Set<string>();
    if (change.type === 'joined') {
      this.#seats.set(change.participantId, { userId: change.userId, meetingId: change.meetingId, own });
      touched.add(change.userId);
    } else if (change.type === 'left') {
      const seat = this.#seats.get(change.participantId);
      if (seat) touched.add(seat.userId);
      this.#seats.delete(change.participantId);
    } else {
      for (const [participantId, seat] of [...this.#seats]) {
        if (seat.meetingId !== change.meetingId) continue;
        this.#seats.delete(participantId);
        touched.add(seat.userId);
      }
    }
    // Guests have no seat here: nothing to tell the other nodes of.
    if (own && touched.size > 0) this.safeEmit('seat', change);
    for (const userId of touched) this.#update(userId);
  }

  /** The seats this node's gate gave, for a node that starts and asks who is in a meeting. */
  ownSeats(): SeatChange[] {
    return [...this.#seats]
      .filter(([, s]) => s.own)
      .map(([participantId, s]) => ({
        type: 'joined',
        participantId,
        userId: s.userId,
        meetingId: s.meetingId,
      }));
  }

  #onCall(e: PbxCallEvent): void {
    if (e.type === 'start') {
      this.#calls.set(e.callId, { from: e.from, to: e.to });
      this.#updateExtensions(e.from, e.to);
    } else if (e.type === 'ended' || e.type === 'failed') {
      const call = this.#calls.get(e.callId);
      if (!call) return;
      this.#calls.delete(e.callId);
      this.#updateExtensions(call.from, call.to);
    }
  }

  #onRegistration(e: PbxRegistrationEvent): void {
    this.#refresh(e.extension, e.type === 'expired' ? e.contact : undefined);
  }

  /** Reads one extension's bindings, in order per extension; `gone` is a contact that just expired. */
  #refresh(extension: string, gone?: string): void {
    const pbx = this.#o.pbx;
    if (!pbx) return;
    const generation = this.#generation;
    this.#refreshes
      .run(extension, async () => {
        const bindings = await pbx.registrations(extension);
        if (this.#closed || generation !== this.#generation) return;
        const count = bindings.filter((b) => b.contact !== gone).length;
        this.#setRegistrations(extension, count);
        this.#updateExtensions(extension);
      })
      .catch((err: unknown) => this.#log.warn({ err, extension }, 'could not read the registrations'));
  }

  /** Every binding at once: at start and after each reconnection to the PBX. */
  async #reload(): Promise<void> {
    const pbx = this.#o.pbx;
    if (!pbx) return;
    const generation = ++this.#generation;
    let all: Map<string, { contact: string }[]>;
    try {
      all = await pbx.allRegistrations();
    } catch (err) {
      this.#log.warn({ err }, 'could not read the registrations; presence shows phones as they register');
      return;
    }
    if (this.#closed || generation !== this.#generation) return;
    this.#registrations.clear();
    for (const [extension, bindings] of all) this.#setRegistrations(extension, bindings.length);
    for (const userId of this.#extensionOf.keys()) this.#update(userId);
    for (const extension of all.keys()) if (!this.#userOf.has(extension)) this.#lookUp({ extension });
  }

  #setRegistrations(extension: string, count: number): void {
    if (count > 0) this.#registrations.set(extension, count);
    else this.#registrations.delete(extension);
  }

  #remember(userId: string, extension: string): void {
    this.#extensionOf.set(userId, extension);
    this.#userOf.set(extension, userId);
  }

  #updateExtensions(...extensions: string[]): void {
    for (const extension of extensions) {
      const userId = this.#userOf.get(extension);
      if (userId) this.#update(userId);
      // Not known yet (made without a directory event, as by an import) or not a user (an outside number).
      else this.#lookUp({ extension });
    }
  }

  /** Learns a user the maps do not have yet, then updates them. */
  #lookUp(filter: { extension: string } | { _id: string }): void {
    this.#o.users
      .findOne(filter, { extension: 1 })
      .lean()
      .then((user) => {
        if (!user || this.#closed) return;
        this.#remember(String(user._id), user.extension);
        this.#update(String(user._id));
      })
      .catch((err: unknown) => this.#log.warn({ err }, 'could not look up a user for presence'));
  }

  #stateOf(userId: string, extension: string): PresenceState {
    let calls = 0;
    for (const c of this.#calls.values()) if (c.from === extension || c.to === extension) calls += 1;
    let meetings = 0;
    for (const s of this.#seats.values()) if (s.userId === userId) meetings += 1;
    return presenceOf({ calls, meetings, registrations: this.#registrations.get(extension) ?? 0 });
  }

  /** Emits `changed` when the user's state is not the one last known. */
  #update(userId: string): void {
    if (this.#closed) return;
    const extension = this.#extensionOf.get(userId);
    if (extension === undefined) {
      this.#lookUp({ _id: userId });
      return;
    }
    const state = this.#stateOf(userId, extension);
    const before = this.#last.get(userId) ?? 'offline';
    this.#last.set(userId, state);
    if (state !== before) this.safeEmit('changed', { userId, extension, state });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
  }
}
