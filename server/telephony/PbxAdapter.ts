import type { EventEmitter } from 'node:events';
import type { TelephonySettingsView } from '../../shared/schemas/calls.js';

/** A directory user as the PBX sees it: an extension. */
export interface PbxUser {
  id: string;
  extension: string;
}

/**
 * A live call event, normalized from whatever the PBX pushes. `callId` ties the events of one call together;
 * `at` is when the server received it (on loopback, when it happened).
 */
export type PbxCallEvent =
  | {
      type: 'start';
      callId: string;
      from: string;
      /** An extension, or an external number in E.164 (`external`), which went to the trunk. */
      to: string;
      external?: boolean;
      /** The number dialled is this queue's (`to` is the queue number). */
      queue?: string;
      /** The INVITE's Referred-By: the call is a transfer made by this extension. */
      referredBy?: string;
      at: number;
    }
  /** A queue call rings these members (the registered ones, the caller excepted). */
  | { type: 'queued'; callId: string; queue: string; members: string[]; at: number }
  | { type: 'ringing'; callId: string; at: number }
  /** A queue member's phone turned the queue call down (486, 600, 603); the others keep ringing. */
  | { type: 'memberRefused'; callId: string; member: string; code: number; at: number }
  /** A blind transfer: `by` sent a REFER inside this call, asking the other party to call `to`. */
  | { type: 'transfer'; callId: string; by: string; to: string; at: number }
  /** `member`: the queue member who answered, for a queue call. */
  | { type: 'answered'; callId: string; member?: string; at: number }
  | { type: 'failed'; callId: string; code: number; at: number }
  | { type: 'ended'; callId: string; by?: string; at: number };

/**
 * A phone of `extension` registered, refreshed or unregistered (`expiresSec` 0) its binding, or one ran out
 * (`expired`, with its contact, which may still be listed while the event is out). Presence reads the truth
 * with `registrations()` after each.
 */
export type PbxRegistrationEvent =
  | { type: 'registered'; extension: string; expiresSec: number; webPhone: boolean; at: number }
  | { type: 'expired'; extension: string; contact: string; at: number };

export interface PbxAdapterEvents {
  call: [event: PbxCallEvent];
  registration: [event: PbxRegistrationEvent];
  /** The PBX came back (after a restart) and every credential was pushed to it again. */
  reprovisioned: [count: number];
}

export interface SipRegistration {
  contact: string;
  expiresSec: number;
  userAgent?: string;
}

/**
 * The one face of a PBX to the rest of the server. The embedded Kamailio edge (KamailioPbx) is the one
 * implementation, and the only one tested; an Asterisk (ARI/AMI) or hosted-PBX adapter would implement the same.
 */
export interface PbxAdapter extends EventEmitter<PbxAdapterEvents> {
  readonly domain: string;
  /** Makes sure the user's SIP credentials exist and are active in the PBX. */
  provision(user: PbxUser): Promise<void>;
  /** A new SIP password for the user (returned only here; only its HA1 is stored). */
  resetPassword(user: PbxUser): Promise<string>;
  /** The extension can no longer register or call, at once; its registrations are dropped. */
  revoke(extension: string): Promise<void>;
  /** Rings `user`'s own phone, and once answered connects it to `number` (an extension, or E.164 for the trunk). */
  clickToCall(user: PbxUser, number: string): Promise<void>;
  registrations(extension: string): Promise<SipRegistration[]>;
  /** Every extension's registrations at once (for a fresh start: after a (re)connection). */
  allRegistrations(): Promise<Map<string, SipRegistration[]>>;
  /** What the web phone registers with (the router adds the ticket and the reconnection grace). */
  webPhoneSettings(user: PbxUser): Promise<Omit<TelephonySettingsView, 'reconnectGraceMs'>>;
  /**
   * Ends the calls `extension` is in through a web phone (a WebSocket contact), not those of its desk phones:
   * BYE to both sides. Resolves to how many were ended.
   */
  endWebCalls(extension: string): Promise<number>;
  /** The queue `number` rings `members` from now on (created or changed). */
  setQueue(number: string, members: string[]): Promise<void>;
  /** The queue's number stops ringing. */
  removeQueue(number: string): Promise<void>;
  /** Resolves while calls can be made; throws ServiceUnavailableError saying what is down otherwise. */
  check(): Promise<void>;
  close(): void;
}
