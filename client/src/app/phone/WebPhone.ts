import JsSIP from 'jssip';
import type { RTCSession } from 'jssip/lib/RTCSession';
import type { TelephonySettingsView } from '../../../../shared/schemas/calls.js';
import { Emitter } from './Emitter.js';
import { audioConstraints, PhoneCall } from './PhoneCall.js';
import type { KeepaliveOptions } from './keepalive.js';
import { TicketSocket } from './TicketSocket.js';

/**
 * off: not started or stopped; connecting: the first connection; reconnecting: the WebSocket dropped and is being
 * connected again (and the phone registered again after it); failed: the PBX refused us.
 */
export type Registration = 'off' | 'connecting' | 'reconnecting' | 'registered' | 'unregistered' | 'failed';

export interface WebPhoneOptions {
  /** GET /api/telephony/me: asked again for every (re)connection, since its wsUrl carries a short ticket. */
  settings: () => Promise<TelephonySettingsView>;
  devices: () => { audioInput?: string | undefined; audioOutput?: string | undefined };
  /** The directory's name for a caller's number (desk phones send none), or undefined. */
  callerName?: (number: string) => Promise<string | undefined>;
  /** The SIP WebSocket's CRLF keepalive (keepalive.ts: 15 s, answered within 5 s). */
  keepalive?: Partial<KeepaliveOptions>;
}

/** How long a call may wait for the caller's name before it rings without one. */
const CALLER_NAME_WAIT_MS = 1_000;

interface NewSessionEvent {
  originator: 'local' | 'remote';
  session: RTCSession;
}

type Events = {
  registration: [Registration];
  /** The current call changed (a new one, or none any more). */
  call: [PhoneCall | undefined];
  /** A call rings here (also sent as `call`). */
  incoming: [PhoneCall];
};

/**
 * The browser's SIP phone ("Telefono via web"): JsSIP's UA registered with the extension's HA1 (never a
 * password), one call at a time (a second incoming call gets 486). After a dropped WebSocket it reconnects
 * (TicketSocket's backoff, at once when the browser is back online) and registers again with the same Contact,
 * which replaces its old binding; a call in progress meanwhile stays up for the server's grace, and once
 * connected again restarts ICE with a re-INVITE, which also gives the far side the new connection's address.
 */
export class WebPhone extends Emitter<Events> {
  readonly #ua: JsSIP.UA;
  readonly #socket: TicketSocket;
  readonly #settings: TelephonySettingsView;
  readonly #options: WebPhoneOptions;
  #registration: Registration = 'connecting';
  #call: PhoneCall | undefined;
  /** The WebSocket dropped and has not opened again yet. */
  #lostConnection = false;
  #closed = false;
  // Not a re-INVITE here: the WebSocket is most likely not back yet, and a request JsSIP cannot send ends the call.
  readonly #online = (): void => this.#socket.wake();
  readonly #offline = (): void => this.#socket.drop();

  private constructor(settings: TelephonySettingsView, options: WebPhoneOptions) {
    super();
    this.#settings = settings;
    this.#options = options;
    let first: TelephonySettingsView | undefined = settings;
    const socket = (this.#socket = new TicketSocket(async () => {
      // The settings just fetched serve the first connection; each later one asks for a new ticket.
      const s = first ?? (await options.settings());
      first = undefined;
      return s.wsUrl;
    }, options.keepalive));
    this.#ua = new JsSIP.UA({
      sockets: [socket],
      uri: settings.sipUri,
      authorization_user: settings.authorizationUser,
      realm: settings.realm,
      ha1: settings.ha1,
      register: true,
      register_expires: 300,
      session_timers: false,
      // After an open connection closed: JsSIP asks TicketSocket again this soon, which retries by itself.
      connection_recovery_min_interval: 1,
      connection_recovery_max_interval: 2,
      user_agent: 'OpiVoice UCC web phone',
    });
    this.#ua.on('connecting', () => {
      if (!this.#lostConnection) this.#setRegistration('connecting');
    });
    this.#ua.on('disconnected', () => {
      if (this.#closed) return;
      this.#lostConnection = true;
      this.#setRegistration('reconnecting');
      this.#call?.signalingLost(settings.reconnectGraceMs);
    });
    this.#ua.on('connected', () => {
      if (this.#lostConnection) this.#call?.signalingBack();
      this.#lostConnection = false;
    });
    this.#ua.on('registered', () => this.#setRegistration('registered'));
    this.#ua.on('unregistered', () => {
      // JsSIP says "unregistered" when the WebSocket drops: we are reconnecting, not unregistered.
      if (this.#closed) this.#setRegistration('off');
      else if (!this.#lostConnection) this.#setRegistration('unregistered');
    });
    this.#ua.on('registrationFailed', () => this.#setRegistration('failed'));
    this.#ua.on('newRTCSession', (e: NewSessionEvent) => {
      if (e.originator === 'remote') void this.#incoming(e.session);
    });
    window.addEventListener('online', this.#online);
    window.addEventListener('offline', this.#offline);
  }

  /** Undefined when the server has no telephony configured (`enabled: false`). */
  static async create(options: WebPhoneOptions): Promise<WebPhone | undefined> {
    const settings = await options.settings();
    if (!settings.enabled) return undefined;
    const phone = new WebPhone(settings, options);
    phone.#ua.start();
    return phone;
  }

  get registration(): Registration {
    return this.#registration;
  }

  get extension(): string {
    return this.#settings.extension;
  }

  get call(): PhoneCall | undefined {
    return this.#call;
  }

  /** Dials an extension or a number; the call's `failure` says why it did not connect. */
  dial(number: string, name?: string): PhoneCall {
    if (this.#call) throw new Error('A call is already in progress');
    const session = this.#ua.call(`sip:${number}@${this.#settings.domain}`, {
      mediaConstraints: audioConstraints(this.#options.devices().audioInput),
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    });
    return this.#track(
      new PhoneCall(session, { direction: 'outgoing', number, name, ...this.#callOptions() }),
    );
  }

  /** Answers the ringing call with the chosen microphone. */
  answer(): void {
    this.#call?.answer({ inputDeviceId: this.#options.devices().audioInput });
  }

  async #incoming(session: RTCSession): Promise<void> {
    const identity = session.remote_identity;
    const number = identity.uri.user ?? '';
    const name = identity.display_name || undefined;
    const call = new PhoneCall(session, { direction: 'incoming', number, name, ...this.#callOptions() });
    if (this.#call) {
      call.rejectBusy();
      return;
    }
    // Taken at once: a second call while the name is looked up is busy.
    this.#call = call;
    const lookup = this.#options.callerName;
    if (!name && lookup) {
      // The banner, the ringtone and the notification then all name the colleague from the start.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const found = await Promise.race([
        lookup(number).catch(() => undefined),
        new Promise<undefined>((resolve) => (timer = setTimeout(resolve, CALLER_NAME_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (found) call.identify(found);
    }
    if (this.#closed || call.snapshot.state === 'ended') {
      // The caller gave up (or the phone closed) while the name was looked up: nothing rang.
      if (this.#call === call) this.#call = undefined;
      return;
    }
    this.#track(call);
    this.emit('incoming', call);
  }

  #callOptions(): { domain: string; outputDeviceId?: string } {
    const out = this.#options.devices().audioOutput;
    return out ? { domain: this.#settings.domain, outputDeviceId: out } : { domain: this.#settings.domain };
  }

  #track(call: PhoneCall): PhoneCall {
    this.#call = call;
    call.on('change', (s) => {
      if (s.state === 'ended' && this.#call === call) {
        this.#call = undefined;
        this.emit('call', undefined);
      }
    });
    this.emit('call', call);
    return call;
  }

  #setRegistration(state: Registration): void {
    if (this.#registration === state) return;
    this.#registration = state;
    this.emit('registration', state);
  }

  /** Idempotent: hangs up, unregisters (the desk phone alone rings then) and closes the WebSocket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    window.removeEventListener('online', this.#online);
    window.removeEventListener('offline', this.#offline);
    this.#call?.hangup();
    const ua = this.#ua;
    if (ua.isRegistered()) {
      // Wait for the REGISTER with Expires: 0 to be answered, briefly: the WebSocket closes after it.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        ua.once('unregistered', () => {
          clearTimeout(timer);
          resolve();
        });
        ua.unregister({ all: false });
      });
    }
    ua.stop();
    this.#setRegistration('off');
    this.removeAllListeners();
  }
}
