import { z } from 'zod';

/**
 * A dialable number as a user types it: digits with optional spaces, dots, dashes, slashes or parentheses, and
 * an optional leading + (international). Normalized to `+` and digits only.
 */
export const dialNumberSchema = z
  .string()
  .trim()
  .max(40)
  .regex(/^\+?[\d\s.\-/()]+$/, 'must be a phone number or an extension')
  .transform((s) => s.replace(/[\s.\-/()]/g, ''))
  .pipe(z.string().regex(/^\+?\d{2,20}$/, 'must have 2 to 20 digits'));

/** POST /api/calls/click-to-call: rings the caller's own phone, then connects it to `number`. */
export const clickToCallSchema = z.strictObject({ number: dialNumberSchema });
export type ClickToCallRequest = z.input<typeof clickToCallSchema>;

export interface ClickToCallView {
  /** The caller's own extension (the phone that rings first) and the normalized number. */
  from: string;
  number: string;
  /** Whether `number` is an extension of the directory; otherwise it is an external number in E.164. */
  internal: boolean;
}

export const CALL_FILTERS = ['all', 'received', 'missed', 'outgoing', 'queue'] as const;

/** GET /api/calls: the user's last 100 calls, newest first. */
export const callsQuerySchema = z.strictObject({
  filter: z.enum(CALL_FILTERS).default('all'),
  /** Over the peer's number and directory name. */
  q: z.string().trim().max(100).optional(),
});
export type CallsQuery = z.infer<typeof callsQuerySchema>;

/**
 * From the record owner's side. `missed`: it rang and nobody answered (the caller gave up, or the no-answer
 * timeout); `busy` (486, 600) and `rejected` (603 Decline, the web phone's "Rifiuta") are calls the callee's phone
 * turned down, which are not missed ones; `cancelled`: the caller hung up while it rang (the caller's side).
 */
export const CALL_OUTCOMES = ['answered', 'missed', 'busy', 'rejected', 'cancelled', 'failed'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** The other end of a transfer: a number and, for a colleague, their "Cognome Nome". */
export interface CallPartyView {
  number: string;
  name?: string;
}

/** One row of "Chiamate recenti", seen from one user's side. */
export interface CallRecordView {
  id: string;
  direction: 'incoming' | 'outgoing';
  /** The other party's number (an extension or an external number) and, for colleagues, their name. */
  peerNumber: string;
  peerName?: string;
  outcome: CallOutcome;
  /** SIP final response code when the call was not answered (486 busy, 603 rejected, 487 cancelled, 408/480 no answer). */
  sipCode?: number;
  /** ISO 8601. */
  startedAt: string;
  answeredAt?: string;
  endedAt?: string;
  /** Seconds of conversation (0 when not answered). */
  durationSec: number;
  /** Set when the call came from a queue: its name. */
  queue?: string;
  /** The call was started by click-to-call. */
  clickToCall: boolean;
  /** The peer is an external number (E.164, through the trunk), not a colleague. */
  external: boolean;
  /** This call is a blind transfer: this colleague (or number) transferred it ("Trasferita da …"). */
  transferredBy?: CallPartyView;
  /** This call was transferred (blind, by REFER) to this party, who answered ("Trasferita a …"). */
  transferredTo?: CallPartyView;
}

export interface CallsView {
  calls: CallRecordView[];
}

/** GET /api/calls/missed takes no parameters. */
export const missedCallsQuerySchema = z.strictObject({});

/**
 * GET /api/calls/missed, POST /api/calls/seen: the badge of "Chiamate recenti". `missed` counts the calls the
 * user did not answer that ended after `seenAt` (their last look at the list; absent before the first), at most
 * the 100 the list shows.
 */
export interface MissedCallsView {
  missed: number;
  /** ISO 8601. */
  seenAt?: string;
}

/** GET /api/telephony/me: what the browser phone needs to register. */
export interface TelephonySettingsView {
  enabled: boolean;
  /** SIP over WebSocket. */
  wsUrl: string;
  sipUri: string;
  domain: string;
  extension: string;
  /** Digest credentials as JsSIP takes them (`authorization_user`, `realm`, `ha1`): never the password itself. */
  authorizationUser: string;
  realm: string;
  ha1: string;
  /** How long a call survives a lost connection: the server ends it then, and the browser does the same. */
  reconnectGraceMs: number;
}

/** POST /api/telephony/me/password: a new SIP password for the caller's desk phone, shown only this once. */
export interface SipPasswordView {
  extension: string;
  domain: string;
  password: string;
  /** Where a desk phone registers (UDP or TCP). */
  registrar: string;
}
