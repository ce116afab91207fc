import { EventEmitter } from 'node:events';
import type { TelephonySettingsView } from '../../shared/schemas/calls.js';
import type { Clock } from '../clock.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import type { UserModel } from '../directory/User.js';
import { ServiceUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { edgeAddresses, type KamailioEndpoint } from '../stack/KamailioService.js';
import { ngPing } from '../stack/RtpengineService.js';
import { calleeBye, DLG_STATE_CONFIRMED, DLG_STATE_CONFIRMED_NA } from './calleeBye.js';
import { EvapiClient } from './EvapiClient.js';
import { KamailioRpc, KamailioRpcError } from './KamailioRpc.js';
import { byeCount, dialogsOf, type LiveDialog } from './liveDialogs.js';
import type { CallQueueModel } from './CallQueue.js';
import type { PbxAdapter, PbxAdapterEvents, PbxCallEvent, PbxUser, SipRegistration } from './PbxAdapter.js';
import { registrationsOfDump, toRegistrationEvent } from './registrationEvents.js';
import { digestHa1, generateSipPassword, type SipCredentialModel } from './SipCredential.js';

export interface KamailioPbxOptions {
  endpoint: KamailioEndpoint;
  credentials: SipCredentialModel;
  users: UserModel;
  directoryEvents: DirectoryEvents;
  /** Call queues, pushed into the `queues` htable with the credentials. */
  queues?: CallQueueModel;
  clock: Clock;
  logger: Logger;
  /** How long create() waits for the first provisioning before it lets the server start anyway. */
  startTimeoutMs?: number;
}

const HTABLE = 'creds';
const QUEUES_HTABLE = 'queues';

/**
 * The PbxAdapter of the embedded edge. Credentials: generated here, kept as HA1 in MongoDB, pushed into
 * Kamailio's `creds` htable over JSON-RPC; pushed again whenever the evapi connection comes back (Kamailio
 * restarted with an empty table), and removed at once when the directory disables or deletes the user. Live call
 * events come over evapi, click-to-call goes through `dlg.bridge_dlg`.
 */
export class KamailioPbx extends EventEmitter<PbxAdapterEvents> implements PbxAdapter {
  readonly domain: string;
  readonly #endpoint: KamailioEndpoint;
  readonly #addresses: ReturnType<typeof edgeAddresses>;
  readonly #rpc: KamailioRpc;
  readonly #evapi: EvapiClient;
  readonly #credentials: SipCredentialModel;
  readonly #users: UserModel;
  readonly #queues: CallQueueModel | undefined;
  readonly #directory: DirectoryEvents;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #unsubscribe: (() => void)[] = [];
  /** Set while the credentials are being pushed after a (re)connection: calls wait for it. */
  #provisioning: Promise<void> | undefined;
  #closed = false;

  private constructor(options: KamailioPbxOptions) {
    super();
    this.#endpoint = options.endpoint;
    this.domain = options.endpoint.domain;
    this.#addresses = edgeAddresses(options.endpoint);
    this.#rpc = new KamailioRpc(this.#addresses.rpcUrl, options.endpoint.rpcToken);
    this.#credentials = options.credentials;
    this.#users = options.users;
    this.#queues = options.queues;
    this.#directory = options.directoryEvents;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#evapi = new EvapiClient({
      host: this.#addresses.evapiHost,
      port: options.endpoint.evapiPort,
      clock: options.clock,
      logger: options.logger,
    });
  }

  /** Resolves once connected and every enabled user's credentials are in Kamailio. */
  static async create(options: KamailioPbxOptions): Promise<KamailioPbx> {
    await options.credentials.init();
    const pbx = new KamailioPbx(options);
    const first = new Promise<void>((resolve) => pbx.once('reprovisioned', () => resolve()));
    pbx.#listen();
    pbx.#evapi.start();
    // A Kamailio that is down at our start must not hold the server back: it is provisioned when it comes up.
    let cancel: (() => void) | undefined;
    const late = new Promise<void>((resolve) => {
      cancel = options.clock.setTimer(options.startTimeoutMs ?? 10_000, () => {
        options.logger.warn('Kamailio not reachable yet; SIP credentials are provisioned when it is');
        resolve();
      });
    });
    await Promise.race([first, late]);
    cancel?.();
    return pbx;
  }

  #listen(): void {
    this.#evapi.on('connected', () => this.#reprovision());
    this.#evapi.on('disconnected', () => this.#log.warn('lost the evapi connection to Kamailio'));
    this.#evapi.on('message', (message) => {
      const event = toCallEvent(message, this.#clock.now(), this.#endpoint.bridgeUser);
      if (event) this.emit('call', event);
      const registration = toRegistrationEvent(message, this.#clock.now());
      if (registration) this.emit('registration', registration);
    });
    const onGone = (user: { id: string; extension: string }): void => {
      void this.revoke(user.extension).catch((err: unknown) =>
        this.#log.error({ err, extension: user.extension }, 'could not revoke SIP credentials'),
      );
    };
    const onActive = (user: { id: string; extension: string; disabled: boolean }): void => {
      if (user.disabled) return;
      void this.provision(user).catch((err: unknown) =>
        this.#log.error({ err, extension: user.extension }, 'could not provision SIP credentials'),
      );
    };
    this.#directory.on('user.disabled', onGone);
    this.#directory.on('user.deleted', onGone);
    this.#directory.on('user.enabled', onActive);
    this.#directory.on('user.created', onActive);
    this.#unsubscribe.push(() => {
      this.#directory.off('user.disabled', onGone);
      this.#directory.off('user.deleted', onGone);
      this.#directory.off('user.enabled', onActive);
      this.#directory.off('user.created', onActive);
    });
  }

  /** After each (re)connection: push every credential; retried while connected until it succeeds. */
  #reprovision(): void {
    const run: Promise<void> = this.#provisionAll()
      .then((count) => {
        this.#log.info({ count }, 'SIP credentials provisioned');
        this.emit('reprovisioned', count);
      })
      .catch((err: unknown) => {
        this.#log.error({ err }, 'could not provision SIP credentials; retrying');
        this.#clock.setTimer(1_000, () => {
          if (!this.#closed && this.#evapi.connected) this.#reprovision();
        });
      })
      .finally(() => {
        if (this.#provisioning === run) this.#provisioning = undefined;
      });
    this.#provisioning = run;
  }

  /** Every enabled user gets credentials (created if missing) in the htable; disabled users' are removed. */
  async #provisionAll(): Promise<number> {
    const users = await this.#users.find({}, { extension: 1, disabled: 1 }).lean();
    const creds = await this.#credentials.find({ domain: this.domain }).lean();
    const byExtension = new Map(creds.map((c) => [c.extension, c]));
    let count = 0;
    for (const user of users) {
      if (user.disabled) {
        await this.#rpc.call('htable.delete', [HTABLE, user.extension]).catch(ignoreMissing);
        continue;
      }
      const ha1 =
        byExtension.get(user.extension)?.ha1 ??
        (await this.#store({ id: String(user._id), extension: user.extension }, generateSipPassword()));
      await this.#rpc.call('htable.sets', [HTABLE, user.extension, ha1]);
      count += 1;
    }
    // Kamailio restarted with empty tables: the queues go back too.
    for (const q of this.#queues ? await this.#queues.find({}).lean() : []) {
      await this.setQueue(q.number, q.members);
    }
    return count;
  }

  async #store(user: PbxUser, password: string): Promise<string> {
    const ha1 = digestHa1(user.extension, this.domain, password);
    await this.#credentials.updateOne(
      { extension: user.extension },
      { $set: { userId: user.id, extension: user.extension, domain: this.domain, ha1 } },
      { upsert: true },
    );
    return ha1;
  }

  async provision(user: PbxUser): Promise<void> {
    const existing = await this.#credentials
      .findOne({ extension: user.extension, domain: this.domain })
      .lean();
    const ha1 = existing?.ha1 ?? (await this.#store(user, generateSipPassword()));
    await this.#rpc.call('htable.sets', [HTABLE, user.extension, ha1]);
  }

  async resetPassword(user: PbxUser): Promise<string> {
    await this.check();
    const password = generateSipPassword();
    const ha1 = await this.#store(user, password);
    await this.#rpc.call('htable.sets', [HTABLE, user.extension, ha1]);
    return password;
  }

  async revoke(extension: string): Promise<void> {
    await this.#rpc.call('htable.delete', [HTABLE, extension]).catch(ignoreMissing);
    // Its phones are unreachable at once, not at their registration's expiry.
    await this.#rpc.call('ul.rm', ['location', extension]).catch(ignoreMissing);
    // And its calls end now: Kamailio sends BYE to both sides; event_route[dialog:end] closes the records.
    const ended = await this.#endDialogs((d) => d.fromUser === extension || d.toUser === extension);
    this.#log.info({ extension, callsEnded: ended }, 'SIP credentials revoked');
  }

  async endWebCalls(extension: string): Promise<number> {
    // The extension's own leg is the caller's when it called, the callee's when it was called.
    return this.#endDialogs(
      (d) => (d.fromUser === extension && d.callerWs) || (d.toUser === extension && d.calleeWs),
    );
  }

  async #endDialogs(which: (d: LiveDialog) => boolean): Promise<number> {
    const dialogs = dialogsOf(await this.#rpc.call('dlg.list').catch(() => []));
    let ended = 0;
    for (const d of dialogs) {
      if (!which(d)) continue;
      const done = await this.#rpc.call('dlg.end_dlg', [d.hEntry, d.hId]).then(
        () => true,
        (err: unknown) => void ignoreMissing(err), // ended meanwhile
      );
      if (!done) continue;
      ended += 1;
      await this.#byeCalleeIfSkipped(d);
      // Kamailio's dialog:end event of an RPC-ended dialog has no SIP message, so no Call-ID: say it here.
      if (d.callId) this.emit('call', { type: 'ended', callId: d.callId, at: this.#clock.now() });
    }
    return ended;
  }

  /** See calleeBye.ts: Kamailio 5.6 may have sent the caller's BYE only. */
  async #byeCalleeIfSkipped(d: LiveDialog): Promise<void> {
    if (!d.callId || (d.state !== DLG_STATE_CONFIRMED && d.state !== DLG_STATE_CONFIRMED_NA)) return;
    try {
      const sent = byeCount(await this.#rpc.call('htable.get', ['byes', d.callId]).catch(() => undefined));
      if (sent !== 1) return;
      this.#log.warn(
        { callId: d.callId },
        'Kamailio ended the call at the caller only; sending the callee its BYE',
      );
      await this.#rpc.call('tm.t_uac_start', calleeBye(d));
    } catch (err) {
      this.#log.error({ err, callId: d.callId }, "could not send the callee's BYE");
    }
  }

  async clickToCall(user: PbxUser, number: string): Promise<void> {
    await this.check();
    const me = `sip:${this.#addresses.sipHost}:${this.#endpoint.sipPort}`;
    try {
      await this.#rpc.call('dlg.bridge_dlg', [
        `sip:${user.extension}@${this.domain}`,
        `sip:${number}@${this.domain}`,
        me,
      ]);
    } catch (err) {
      // The number was validated before: a refusal of the bridge is the edge's, not the caller's.
      if (err instanceof KamailioRpcError) {
        throw new ServiceUnavailableError('The telephony server could not start the call');
      }
      throw err;
    }
  }

  async setQueue(number: string, members: string[]): Promise<void> {
    await this.#rpc.call('htable.sets', [QUEUES_HTABLE, number, members.join(',')]);
  }

  async removeQueue(number: string): Promise<void> {
    await this.#rpc.call('htable.delete', [QUEUES_HTABLE, number]).catch(ignoreMissing);
  }

  async registrations(extension: string): Promise<SipRegistration[]> {
    let result: unknown;
    try {
      result = await this.#rpc.call('ul.lookup', ['location', extension]);
    } catch (err) {
      if (err instanceof KamailioRpcError) return [];
      throw err;
    }
    return contactsOf(result);
  }

  async allRegistrations(): Promise<Map<string, SipRegistration[]>> {
    return registrationsOfDump(await this.#rpc.call('ul.dump'), contactsOf);
  }

  async webPhoneSettings(user: PbxUser): Promise<Omit<TelephonySettingsView, 'reconnectGraceMs'>> {
    await this.check();
    const cred = await this.#credentials.findOne({ extension: user.extension, domain: this.domain }).lean();
    if (!cred) throw new ServiceUnavailableError('No SIP credentials yet for this extension');
    return {
      enabled: true,
      wsUrl: this.#addresses.wsUrl,
      sipUri: `sip:${user.extension}@${this.domain}`,
      domain: this.domain,
      extension: user.extension,
      authorizationUser: user.extension,
      realm: this.domain,
      ha1: cred.ha1,
    };
  }

  /** Kamailio answering over RPC, its evapi connected, credentials pushed, and rtpengine answering its ping. */
  async check(): Promise<void> {
    if (!this.#evapi.connected) {
      throw new ServiceUnavailableError(
        `The telephony server (Kamailio) is down: no evapi connection to ${this.#evapi.address}`,
      );
    }
    await this.#provisioning;
    const ngPort = this.#endpoint.rtpengineNgPort;
    const [kamailio, rtpengine] = await Promise.all([
      this.#rpc.call('core.uptime').then(
        () => true,
        () => false,
      ),
      ngPort === undefined ? Promise.resolve(true) : ngPing(ngPort),
    ]);
    if (!kamailio) {
      throw new ServiceUnavailableError(
        `The telephony server (Kamailio) is not answering its JSON-RPC at ${this.#addresses.rpcUrl}`,
      );
    }
    if (!rtpengine) throw new ServiceUnavailableError('The media relay (rtpengine) is not answering');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#evapi.close();
  }
}

function ignoreMissing(err: unknown): void {
  // Deleting what is not there is the wanted end state.
  if (err instanceof KamailioRpcError) return;
  throw err;
}

/** Parses one evapi message of the generated config; anything else is ignored. */
export function toCallEvent(
  m: Record<string, unknown>,
  at: number,
  bridgeUser: string,
): PbxCallEvent | undefined {
  const callId = m.callId;
  if (typeof callId !== 'string' || callId === '') return undefined;
  switch (m.event) {
    case 'start':
      // The first leg of a click-to-call (the controller calling the user's phone) is not a call of its own.
      if (typeof m.from !== 'string' || typeof m.to !== 'string' || m.from === bridgeUser) return undefined;
      return {
        type: 'start',
        callId,
        from: m.from,
        to: m.to,
        ...(m.external === true ? { external: true } : typeof m.queue === 'string' ? { queue: m.queue } : {}),
        ...(typeof m.referredBy === 'string' && m.referredBy !== '' ? { referredBy: m.referredBy } : {}),
        at,
      };
    case 'queued':
      if (typeof m.queue !== 'string' || typeof m.members !== 'string') return undefined;
      return { type: 'queued', callId, queue: m.queue, members: m.members.split(',').filter(Boolean), at };
    case 'memberRefused':
      if (typeof m.member !== 'string' || m.member === '' || typeof m.code !== 'number') return undefined;
      return { type: 'memberRefused', callId, member: m.member, code: m.code, at };
    case 'transfer':
      if (typeof m.by !== 'string' || typeof m.to !== 'string' || m.to === '' || m.by === bridgeUser)
        return undefined;
      return { type: 'transfer', callId, by: m.by, to: m.to, at };
    case 'ringing':
      return { type: 'ringing', callId, at };
    case 'answered':
      return typeof m.member === 'string'
        ? { type: 'answered', callId, member: m.member, at }
        : { type: 'answered', callId, at };
    case 'failed':
      return { type: 'failed', callId, code: typeof m.code === 'number' ? m.code : 500, at };
    case 'ended':
      return typeof m.by === 'string'
        ? { type: 'ended', callId, by: m.by, at }
        : { type: 'ended', callId, at };
    default:
      return undefined;
  }
}

/** `ul.lookup`'s answer: `{ AoR, Contacts: [{ Contact: { Address, Expires, "User-Agent" } }] }`. */
function contactsOf(result: unknown): SipRegistration[] {
  const contacts = (result as { Contacts?: unknown } | null)?.Contacts;
  if (!Array.isArray(contacts)) return [];
  const out: SipRegistration[] = [];
  for (const entry of contacts as { Contact?: Record<string, unknown> }[]) {
    const c = entry.Contact;
    if (!c || typeof c.Address !== 'string') continue;
    const reg: SipRegistration = {
      contact: c.Address,
      expiresSec: typeof c.Expires === 'number' ? c.Expires : 0,
    };
    if (typeof c['User-Agent'] === 'string') reg.userAgent = c['User-Agent'];
    out.push(reg);
  }
  return out;
}
