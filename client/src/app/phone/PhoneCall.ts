import JsSIP from 'jssip';
import type { EndEvent, IceCandidateEvent, RTCSession } from 'jssip/lib/RTCSession';
import { routeAudio } from '../settings/devices.js';
import { callFailure, transferFailure, type CallFailure } from './callFailure.js';
import { Emitter } from './Emitter.js';

export type CallDirection = 'incoming' | 'outgoing';
/** ringing: an incoming call not answered yet; calling: ours, not answered yet. */
export type CallState = 'ringing' | 'calling' | 'connected' | 'ended';

export interface CallSnapshot {
  direction: CallDirection;
  number: string;
  name: string | undefined;
  state: CallState;
  /** When it was answered (ms since the epoch): the call timer counts from here. */
  connectedAt: number | undefined;
  muted: boolean;
  held: boolean;
  transferring: boolean;
  /** The extension the call was handed to: set when a blind transfer succeeded and our leg ended for it. */
  transferredTo: string | undefined;
  /** Set when the call ended without ever connecting, or a transfer failed. */
  failure: CallFailure | undefined;
  /** Who ended it: `local` for us, `remote` for the other side or the PBX. */
  endedBy: 'local' | 'remote' | 'system' | undefined;
  /** The connection to the server dropped, or the media path failed: the call is being recovered. */
  reconnecting: boolean;
}

/**
 * One call of the web phone, over a JsSIP RTCSession: its state for the call screen, the controls (answer,
 * mute, hold, DTMF, blind transfer, hang up), and the far side's audio played on the chosen output.
 */
export class PhoneCall extends Emitter<{ change: [CallSnapshot] }> {
  readonly #session: RTCSession;
  readonly #domain: string;
  readonly #audio: HTMLAudioElement;
  #s: CallSnapshot;
  /** While the signaling is down: when it runs out, we end the call ourselves (the server does the same). */
  #giveUp: ReturnType<typeof setTimeout> | undefined;
  #signaling = true;
  #gaveUp = false;
  #restartRetry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    session: RTCSession,
    options: {
      direction: CallDirection;
      number: string;
      name?: string;
      domain: string;
      outputDeviceId?: string;
    },
  ) {
    super();
    this.#session = session;
    this.#domain = options.domain;
    this.#s = {
      direction: options.direction,
      number: options.number,
      name: options.name,
      state: options.direction === 'incoming' ? 'ringing' : 'calling',
      connectedAt: undefined,
      muted: false,
      held: false,
      transferring: false,
      transferredTo: undefined,
      failure: undefined,
      endedBy: undefined,
      reconnecting: false,
    };
    this.#audio = new Audio();
    this.#audio.autoplay = true;
    void routeAudio(this.#audio, options.outputDeviceId);

    if (session.connection) this.#watchTracks(session.connection);
    session.on('peerconnection', (e: { peerconnection: RTCPeerConnection }) =>
      this.#watchTracks(e.peerconnection),
    );
    // JsSIP sends its offer or answer only once ICE gathering completes, which waits ~120 ms for TCP candidates
    // that rtpengine never uses (bench:phone). The edge is ICE-lite: it answers checks from every local candidate
    // the browser tries, signalled or not, so the first UDP one is enough to send the SDP.
    session.on('icecandidate', (e: IceCandidateEvent) => {
      if (e.candidate.protocol === 'udp') e.ready();
    });
    session.on('accepted', () => this.#set({ state: 'connected', connectedAt: Date.now() }));
    // Only our own hold is "Attesa": a desk phone holds us itself while it calls a transfer target, and that
    // must neither press the button nor hide "Trasferimento in corso…".
    session.on('hold', (e: { originator: string }) => {
      if (e.originator === 'local') this.#set({ held: true });
    });
    session.on('unhold', (e: { originator: string }) => {
      if (e.originator === 'local') this.#set({ held: false });
    });
    session.on('muted', () => this.#set({ muted: true }));
    session.on('unmuted', () => this.#set({ muted: false }));
    session.on('ended', (e: EndEvent) => {
      // Ended while being recovered (we gave up, or the far side no longer knows the dialog): say why.
      if (this.#gaveUp || LOST_CAUSES.has(String(e.cause))) this.#end('system', 'connectionLost');
      else this.#end(originatorOf(e), undefined);
    });
    session.on('failed', (e: EndEvent) => {
      // A final answer of the far side (or of the PBX for it) carries the SIP status.
      const message = e.message as EndEvent['message'] | null | undefined;
      const by = originatorOf(e);
      const status = by === 'remote' && message && 'status_code' in message ? message.status_code : undefined;
      // Our own hang-up or rejection is not a failure to explain.
      const failure = by === 'local' ? undefined : callFailure(status, e.cause);
      this.#end(by, failure);
    });
  }

  get snapshot(): CallSnapshot {
    return this.#s;
  }

  /** The caller's name from the directory, when the call came without one. */
  identify(name: string): void {
    if (!this.#s.name) this.#set({ name });
  }

  /** The media connection, for statistics (tests read `inbound-rtp`). */
  get connection(): RTCPeerConnection | undefined {
    return this.#session.connection ?? undefined;
  }

  answer(options: { inputDeviceId?: string | undefined } = {}): void {
    if (this.#s.state !== 'ringing') return;
    this.#session.answer({ mediaConstraints: audioConstraints(options.inputDeviceId) });
  }

  /** Hang up, cancel our ringing call, or reject an incoming one (603 Decline, "Rifiuta"). */
  hangup(): void {
    if (this.#s.state === 'ended') return;
    try {
      this.#session.terminate(
        this.#s.state === 'ringing' ? { status_code: 603, reason_phrase: 'Decline' } : {},
      );
    } catch {
      // Already terminated by the other side in the meantime.
    }
  }

  /** The "busy" answer for a second call while on one. */
  rejectBusy(): void {
    this.#session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
  }

  mute(on: boolean): void {
    if (on) this.#session.mute({ audio: true });
    else this.#session.unmute({ audio: true });
  }

  hold(on: boolean): void {
    if (this.#s.state !== 'connected') return;
    if (on) this.#session.hold();
    else this.#session.unhold();
  }

  /** RFC 4733 events in the RTP stream when the connection can send them, SIP INFO otherwise. */
  dtmf(tone: string): void {
    if (this.#s.state !== 'connected') return;
    const sender = this.connection?.getSenders().find((s) => s.track?.kind === 'audio');
    const inband = sender?.dtmf?.canInsertDTMF === true;
    const transport = JsSIP.C.DTMF_TRANSPORT;
    this.#session.sendDTMF(tone, {
      transportType: inband ? transport.RFC2833 : transport.INFO,
      duration: 120,
      interToneGap: 70,
    });
  }

  /** Blind transfer (REFER) to another extension; our leg ends once the far side reports the new call up. */
  transfer(extension: string): void {
    if (this.#s.state !== 'connected') return;
    this.#set({ transferring: true, failure: undefined });
    // The far side says how its call to the target went in NOTIFYs (a sipfrag status line); a REFER it refuses
    // fails with the REFER's own answer. Either way our call with it goes on.
    const failed = (status: number | undefined): void =>
      this.#set({ transferring: false, failure: transferFailure(status) });
    this.#session.refer(`sip:${extension}@${this.#domain}`, {
      eventHandlers: {
        accepted: () => {
          this.#set({ transferredTo: extension });
          this.hangup();
        },
        failed: (e: { status_line?: { status_code?: number } } | undefined) =>
          failed(e?.status_line?.status_code),
        requestFailed: (e: { response?: { status_code?: number } | null } | undefined) =>
          failed(e?.response?.status_code),
      },
    });
  }

  /**
   * The WebSocket to the server dropped: the call stays up (its media may still flow) while the phone reconnects,
   * for `graceMs` at most; then it ends here with "connessione persa", as the server ends it on its side.
   */
  signalingLost(graceMs: number): void {
    if (this.#s.state === 'ended') return;
    this.#signaling = false;
    if (this.#s.state !== 'connected') return;
    this.#set({ reconnecting: true });
    clearTimeout(this.#giveUp);
    this.#giveUp = setTimeout(() => {
      this.#giveUp = undefined;
      this.#gaveUp = true;
      this.hangup();
    }, graceMs);
  }

  /** Connected again: a re-INVITE with new ICE credentials, which also tells the far side our new address. */
  signalingBack(): void {
    this.#signaling = true;
    clearTimeout(this.#giveUp);
    this.#giveUp = undefined;
    if (this.#s.state === 'connected' && this.#s.reconnecting) this.restartIce();
  }

  /** A re-INVITE with new ICE credentials, so the media finds its way again; `reconnecting` until it is answered. */
  restartIce(attempt = 0): void {
    if (this.#s.state !== 'connected' || !this.#signaling) return;
    clearTimeout(this.#restartRetry);
    this.#set({ reconnecting: true });
    const started = this.#session.renegotiate({ rtcOfferConstraints: { iceRestart: true } }, () =>
      this.#set({ reconnecting: false }),
    );
    // Another offer/answer under way (a hold, the far side's re-INVITE): once it is done.
    if (!started && attempt < RESTART_RETRIES) {
      this.#restartRetry = setTimeout(() => this.restartIce(attempt + 1), RESTART_RETRY_MS);
    }
  }

  #watchTracks(pc: RTCPeerConnection): void {
    pc.addEventListener('iceconnectionstatechange', () => {
      // The media path broke while the signaling is up (a new network, a NAT binding gone): restart ICE.
      if (pc.iceConnectionState === 'failed') this.restartIce();
    });
    pc.addEventListener('track', (e) => {
      this.#audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      void this.#audio.play().catch(() => undefined);
    });
  }

  #end(by: 'local' | 'remote' | 'system', failure: CallFailure | undefined): void {
    if (this.#s.state === 'ended') return;
    clearTimeout(this.#giveUp);
    clearTimeout(this.#restartRetry);
    this.#audio.srcObject = null;
    this.#set({ state: 'ended', endedBy: by, failure, transferring: false, reconnecting: false });
  }

  #set(patch: Partial<CallSnapshot>): void {
    this.#s = { ...this.#s, ...patch };
    this.emit('change', this.#s);
  }
}

export function audioConstraints(deviceId: string | undefined): MediaStreamConstraints {
  return { audio: deviceId ? { deviceId: { ideal: deviceId } } : true, video: false };
}

const RESTART_RETRIES = 5;
const RESTART_RETRY_MS = 1_000;

/** JsSIP's causes for a call ended because its dialog could not be reached (a re-INVITE failed, 408, 481). */
const LOST_CAUSES = new Set<string>([
  JsSIP.C.causes.CONNECTION_ERROR,
  JsSIP.C.causes.REQUEST_TIMEOUT,
  JsSIP.C.causes.DIALOG_ERROR,
]);

/** JsSIP's originator enum as the plain strings it holds. */
function originatorOf(e: EndEvent): 'local' | 'remote' | 'system' {
  const o = String(e.originator);
  return o === 'local' || o === 'remote' ? o : 'system';
}
