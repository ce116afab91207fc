import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { MatrixClient, Method } from 'matrix-js-sdk';
import { z } from 'zod';
import type { ChatMemberView } from '../../shared/schemas/chat.js';
import type { PublicUser } from '../../shared/schemas/directory.js';
import type { Clock } from '../clock.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import { displayName, toPublicUser, type UserModel } from '../directory/User.js';
import {
  AppError,
  ChatUnavailableError,
  ForbiddenError,
  NotFoundError,
  toAppError,
  ValidationError,
} from '../errors.js';
import { jsonBody } from '../http/bodyParsers.js';
import { clientErrorOf } from '../http/clientErrors.js';
import type { Logger } from '../logger.js';
import {
  APPSERVICE_ID,
  APPSERVICE_SENDER_LOCALPART,
  APPSERVICE_USER_PREFIX,
} from '../stack/SynapseService.js';
import type { MatrixEndpoint } from '../stack/EmbeddedStack.js';
import type { ChatModels } from './chatModels.js';
import { fileNameOf } from './fileHeaders.js';
import { matrixErrcode, toChatError } from './matrixErrors.js';

/** A room event as Synapse pushes it in a transaction (the client-server event format). */

/** How long a Matrix profile's display name is trusted before it is looked up again. */
const PROFILE_TTL_MS = 5 * 60_000;
export interface MatrixRoomEvent {
  type: string;
  room_id: string;
  sender: string;
  event_id: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
}

const roomEventSchema = z.looseObject({
  type: z.string().min(1),
  room_id: z.string().min(1),
  sender: z.string().min(1),
  event_id: z.string().min(1),
  origin_server_ts: z.number(),
  content: z.record(z.string(), z.unknown()),
  state_key: z.string().optional(),
});

const transactionSchema = z.looseObject({
  events: z.array(z.unknown()).default([]),
  // Typing and receipts (MSC2409, Matrix 1.13), sent when the registration has `receive_ephemeral: true`. A
  // Synapse older than 1.156 knows only the unstable flag `de.sorunome.msc2409.push_ephemeral` and its key.
  ephemeral: z.array(z.unknown()).optional(),
  'de.sorunome.msc2409.ephemeral': z.array(z.unknown()).optional(),
});

/** `m.typing`: everyone typing in the room now (not a change: the handler compares with what it knew). */
const typingEventSchema = z.looseObject({
  type: z.literal('m.typing'),
  room_id: z.string().min(1),
  content: z.looseObject({ user_ids: z.array(z.string().min(1)) }),
});

/** `m.receipt`: `{ <eventId>: { <receipt type>: { <mxid>: { ts, thread_id? } } } }`. */
const receiptEventSchema = z.looseObject({
  type: z.literal('m.receipt'),
  room_id: z.string().min(1),
  content: z.record(
    z.string().min(1),
    z.record(
      z.string(),
      z.record(
        z.string().min(1),
        z.looseObject({ ts: z.number().optional(), thread_id: z.string().optional() }),
      ),
    ),
  ),
});

/**
 * Handles room events of a transaction (one event per call, in the transaction's order); a throw makes Synapse send
 * the transaction again, and the events not yet handled by every handler are handed over again then.
 */
export type InboundHandler = (events: MatrixRoomEvent[]) => Promise<void>;

/** One user's receipt from an `m.receipt` event, flattened. */
export interface MatrixReceipt {
  eventId: string;
  /** `m.read`, or `m.read.private` (sent to us only for users in our namespace). */
  receiptType: string;
  userId: string;
  /** The homeserver's time of the receipt, when it gave one. */
  ts?: number;
  /** Set for a threaded receipt: `main`, or the thread's root event. */
  threadId?: string;
}

/** The ephemeral data of a transaction that the handlers use; presence and other types are dropped. */
export type MatrixEphemeral =
  | { type: 'm.typing'; roomId: string; userIds: string[] }
  | { type: 'm.receipt'; roomId: string; receipts: MatrixReceipt[] };

/**
 * Handles the typing and receipts of one transaction. Synapse does not keep ephemeral data for a retry, so a
 * failure here is logged and the transaction still acknowledged.
 */
export type EphemeralHandler = (events: MatrixEphemeral[]) => Promise<void>;

/** A file from the media repository, its body still to be read. */
export interface MediaDownload {
  contentType: string;
  /** As Synapse declared it, when it did. */
  contentLength?: number;
  /** The name it was uploaded with, when it had one. */
  fileName?: string;
  body: ReadableStream<Uint8Array>;
}

/** The thumbnail size asked of Synapse: one of its default precomputed sizes, so it never scales on demand. */
const THUMBNAIL = { width: '640', height: '480', method: 'scale' } as const;

/** Shown after the name of a disabled colleague, in every Matrix client. */
export const DISABLED_MARK = ' [disattivato]';

const MAX_CACHED_CLIENTS = 500;
const AVATAR_MAX_BYTES = 2 * 1024 * 1024;
const RECONCILE_CONCURRENCY = 4;
/** Handled transaction ids are kept this long; Synapse never replays older ones. */
const TXN_RETENTION_MS = 30 * 24 * 3_600_000;
/** How long a pending transaction belongs to the process that claimed it (see #claim). */
export const DEFAULT_TXN_LEASE_MS = 60_000;

export interface MatrixBridgeOptions {
  endpoint: MatrixEndpoint;
  users: UserModel;
  events: DirectoryEvents;
  models: ChatModels;
  clock: Clock;
  logger: Logger;
  /** Bound on every homeserver call, so a hung Synapse becomes CHAT_UNAVAILABLE instead of a stuck request. */
  requestTimeoutMs?: number;
  /**
   * How long a transaction claimed by a process that then stopped stays its own before Synapse's retry takes it
   * over (DEFAULT_TXN_LEASE_MS); longer than handling one takes.
   */
  txnLeaseMs?: number;
}

/** An error in the Matrix application-service API's own shape (`{ errcode, error }`). */
class AppserviceError extends AppError {
  constructor(
    status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(
      status,
      status === 403
        ? 'FORBIDDEN'
        : status === 401
          ? 'UNAUTHENTICATED'
          : status === 503
            ? 'SERVICE_UNAVAILABLE'
            : 'NOT_FOUND',
      message,
    );
  }
}

/** A body or path the caller got wrong (express's and body-parser's errors), in Matrix's terms: never a 500. */
function matrixClientError(err: unknown): AppserviceError | undefined {
  const known = clientErrorOf(err);
  if (!known) return undefined;
  const type = (err as { type?: unknown }).type;
  const errcode =
    known.status === 413
      ? 'M_TOO_LARGE'
      : type === 'entity.too.deep'
        ? 'M_BAD_JSON'
        : known.status === 415 || type === 'entity.parse.failed'
          ? 'M_NOT_JSON'
          : 'M_UNKNOWN';
  return new AppserviceError(known.status, errcode, known.message);
}

/**
 * The application service between the directory and Matrix.
 *
 * - Provisioning: every active directory user has a Matrix account `@ucc_<extension>:<server>` named
 *   "Nome Cognome (200)", kept current from the directory's events and reconciled at each start.
 * - Outbound: every call is made with the `as_token`, as the user (`?user_id=` masquerading, added by the
 *   client's fetch) or as the bridge's own sender.
 * - Inbound: Synapse's transactions are verified (hs_token), handled once per transaction (remembered in the
 *   database), and their events handed to the registered handlers (the ChatService and the MeetingChat).
 */
export class MatrixBridge {
  readonly botMxid: string;
  readonly #o: MatrixBridgeOptions;
  /** Matrix display names of people outside the directory. */
  readonly #profiles = new Map<string, { name: string; at: number }>();
  readonly #logger: Logger;
  readonly #clients = new Map<string, MatrixClient>();
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #mxidPattern: RegExp;
  readonly #unsubscribe: () => void;
  readonly #handlers: InboundHandler[] = [];
  readonly #ephemeralHandlers: EphemeralHandler[] = [];
  /** Transactions being handled by this process, by claim: the same one arriving again waits for it. */
  readonly #runningTxns = new Map<string, Promise<void>>();
  /** This bridge's name on the transactions it claims. */
  readonly #instance = randomUUID();
  #closed = false;
  /** Settles when the start-up reconciliation is over (it never rejects). */
  readonly reconciled: Promise<void>;

  private constructor(options: MatrixBridgeOptions) {
    this.#o = options;
    this.#logger = options.logger;
    const server = options.endpoint.serverName;
    this.botMxid = `@${APPSERVICE_SENDER_LOCALPART}:${server}`;
    this.#mxidPattern = new RegExp(`^@${APPSERVICE_USER_PREFIX}(\\d{2,10}):${escapeRegex(server)}$`);
    this.#unsubscribe = this.#subscribe();
    this.reconciled = this.reconcile().catch((err: unknown) => {
      this.#logger.warn(
        { err: describe(err) },
        'start-up reconciliation with Matrix failed; will retry lazily',
      );
    });
  }

  static async create(options: MatrixBridgeOptions): Promise<MatrixBridge> {
    const cutoff = new Date(options.clock.now() - TXN_RETENTION_MS);
    await options.models.txns.deleteMany({ at: { $lt: cutoff } });
    await options.models.handledEvents.deleteMany({ at: { $lt: cutoff } });
    return new MatrixBridge(options);
  }

  /**
   * Where inbound room events go: the ChatService (directory chats) and the MeetingChat (in-call chats). Each
   * handler gets every event of a transaction and ignores the rooms that are not its own.
   */
  onEvents(handler: InboundHandler): void {
    this.#handlers.push(handler);
  }

  /** Where typing notifications and read receipts go (the ChatService); each ignores rooms not its own. */
  onEphemeral(handler: EphemeralHandler): void {
    this.#ephemeralHandlers.push(handler);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const client of this.#clients.values()) client.stopClient();
    this.#clients.clear();
  }

  // --- identities ---

  /** The homeserver's name, the part after the colon of every mxid and alias. */
  get serverName(): string {
    return this.#o.endpoint.serverName;
  }

  mxidOf(extension: string): string {
    return `@${APPSERVICE_USER_PREFIX}${extension}:${this.#o.endpoint.serverName}`;
  }

  /** The extension behind one of our users' mxids; undefined for anyone else (Element users, the bot). */
  extensionOf(mxid: string): string | undefined {
    return this.#mxidPattern.exec(mxid)?.[1];
  }

  /**
   * Who these mxids are: directory colleagues by extension ("Nome Cognome (200)"), anyone else by their Matrix
   * profile (cached a few minutes), or the mxid itself when they have none.
   */
  async identify(mxids: string[]): Promise<Map<string, ChatMemberView>> {
    const out = new Map<string, ChatMemberView>();
    const byExtension = new Map<string, string>();
    for (const mxid of mxids) {
      const extension = this.extensionOf(mxid);
      if (extension) byExtension.set(extension, mxid);
    }
    if (byExtension.size > 0) {
      const docs = await this.#o.users
        .find(
          { extension: { $in: [...byExtension.keys()] } },
          { extension: 1, firstName: 1, lastName: 1, disabled: 1 },
        )
        .lean();
      for (const doc of docs) {
        const mxid = byExtension.get(doc.extension);
        if (mxid) {
          out.set(mxid, {
            mxid,
            userId: String(doc._id),
            extension: doc.extension,
            // Our apps show colleagues as the directory does ("Rossi Mario"); the Matrix profile name, with the
            // extension for Element users, is displayNameOf.
            displayName: `${displayName(doc)}${doc.disabled ? DISABLED_MARK : ''}`,
          });
        }
      }
    }
    await Promise.all(
      mxids
        .filter((m) => !out.has(m))
        .map(async (mxid) => out.set(mxid, { mxid, displayName: await this.#profileName(mxid) })),
    );
    return out;
  }

  /** A display name seen in a membership event: fresher than a profile lookup. */
  rememberDisplayName(mxid: string, name: string): void {
    this.#profiles.set(mxid, { name, at: this.#o.clock.now() });
  }

  async #profileName(mxid: string): Promise<string> {
    const cached = this.#profiles.get(mxid);
    if (cached && this.#o.clock.now() - cached.at < PROFILE_TTL_MS) return cached.name;
    let name = mxid;
    try {
      const profile = await this.call(() => this.client().getProfileInfo(mxid, 'displayname'));
      if (profile.displayname) name = profile.displayname;
    } catch {
      // No profile (or Synapse unreachable): the mxid is still a truthful name.
    }
    this.#profiles.set(mxid, { name, at: this.#o.clock.now() });
    return name;
  }

  /** Ours: a directory user's account or the bridge's sender. */
  isBridged(mxid: string): boolean {
    return mxid === this.botMxid || this.extensionOf(mxid) !== undefined;
  }

  /** "Nome Cognome (200)", the name every Matrix client shows; marked when the account is disabled. */
  static displayNameOf(user: Pick<PublicUser, 'firstName' | 'lastName' | 'extension' | 'disabled'>): string {
    const name = `${user.firstName} ${user.lastName} (${user.extension})`;
    return user.disabled ? `${name}${DISABLED_MARK}` : name;
  }

  // --- outbound ---

  /**
   * A matrix-js-sdk client acting as `mxid` (or as the bridge's sender). matrix-js-sdk's `queryParams` option is
   * not applied to requests in this version, so the masquerading `user_id` is added by the client's fetch.
   */
  client(mxid?: string): MatrixClient {
    const key = mxid ?? this.botMxid;
    const cached = this.#clients.get(key);
    if (cached) {
      // Least recently used goes first: re-insert on use.
      this.#clients.delete(key);
      this.#clients.set(key, cached);
      return cached;
    }
    const { homeserverUrl, asToken } = this.#o.endpoint;
    const timeoutMs = this.#o.requestTimeoutMs ?? 15_000;
    const fetchFn: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (mxid) url.searchParams.set('user_id', mxid);
      return fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
    };
    const client = new MatrixClient({
      baseUrl: homeserverUrl,
      accessToken: asToken,
      userId: key,
      useAuthorizationHeader: true,
      localTimeoutMs: timeoutMs,
      fetchFn,
    });
    this.#clients.set(key, client);
    if (this.#clients.size > MAX_CACHED_CLIENTS) {
      const oldest = this.#clients.keys().next().value;
      if (oldest !== undefined) this.#clients.delete(oldest);
    }
    return client;
  }

  /** A homeserver call whose failures come out as our errors (CHAT_UNAVAILABLE, 403, 404). */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toChatError(err);
    }
  }

  /** A raw client-server request as `mxid` (or the bridge), for endpoints matrix-js-sdk has no method for. */
  async request<T>(
    mxid: string | undefined,
    method: Method,
    path: string,
    query?: Record<string, string>,
    body?: object,
  ): Promise<T> {
    return this.call(() => this.client(mxid).http.authedRequest<T>(method, path, query, body));
  }

  /**
   * A file (or its thumbnail) from the authenticated media API, downloaded as `mxid`. Only the wait for the answer
   * is bounded: the body then streams at the reader's pace, so a large file to a slow browser is not cut off.
   * `signal` aborts the download (the browser went away).
   */
  async download(
    mxid: string,
    media: { serverName: string; mediaId: string },
    options: { thumbnail: boolean; signal?: AbortSignal },
  ): Promise<MediaDownload> {
    const { homeserverUrl, asToken } = this.#o.endpoint;
    const kind = options.thumbnail ? 'thumbnail' : 'download';
    const url = new URL(
      `${homeserverUrl.replace(/\/+$/, '')}/_matrix/client/v1/media/${kind}/${enc(media.serverName)}/${enc(media.mediaId)}`,
    );
    url.searchParams.set('user_id', mxid);
    if (options.thumbnail) for (const [k, v] of Object.entries(THUMBNAIL)) url.searchParams.set(k, v);
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException('media download timed out', 'TimeoutError')),
      this.#o.requestTimeoutMs ?? 15_000,
    );
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { Authorization: `Bearer ${asToken}` },
        signal: options.signal ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal,
      });
    } catch (err) {
      throw toChatError(err);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok || !response.body) {
      const errcode = await response
        .json()
        .then((b: unknown) => asRecord(b)?.errcode)
        .catch(() => undefined);
      throw mediaError(response.status, typeof errcode === 'string' ? errcode : undefined, options.thumbnail);
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    const download: MediaDownload = {
      contentType: response.headers.get('content-type') ?? 'application/octet-stream',
      body: response.body,
    };
    if (Number.isSafeInteger(length) && length >= 0) download.contentLength = length;
    const fileName = fileNameOf(response.headers.get('content-disposition'));
    if (fileName) download.fileName = fileName;
    return download;
  }

  // --- provisioning ---

  /**
   * Makes sure a directory user has their Matrix account with the current name and avatar, and returns its
   * mxid. Cheap when nothing changed (the last provisioned state is cached in the database); `force` checks
   * Matrix itself (start-up reconciliation).
   */
  async ensureUser(user: PublicUser, force = false): Promise<string> {
    const running = this.#inFlight.get(user.id);
    if (running && !force) return running;
    const attempt = this.#provision(user, force).finally(() => {
      if (this.#inFlight.get(user.id) === attempt) this.#inFlight.delete(user.id);
    });
    this.#inFlight.set(user.id, attempt);
    return attempt;
  }

  async #provision(user: PublicUser, force: boolean): Promise<string> {
    const mxid = this.mxidOf(user.extension);
    const displayName = MatrixBridge.displayNameOf(user);
    const known = await this.#o.models.users.findOne({ userId: user.id }).lean();
    const avatarSource = user.avatarUrl;
    if (
      !force &&
      known?.mxid === mxid &&
      known.displayName === displayName &&
      known.avatarSource === avatarSource
    ) {
      return mxid;
    }
    if (!known || known.mxid !== mxid || force) await this.#register(user.extension);

    const client = this.client(mxid);
    const current = force
      ? await this.call(() => client.getProfileInfo(mxid, 'displayname')).catch(() => undefined)
      : undefined;
    if (force ? current?.displayname !== displayName : known?.displayName !== displayName) {
      await this.call(() => client.setDisplayName(displayName));
    }
    let avatarMxc = known?.avatarSource === avatarSource ? known?.avatarMxc : undefined;
    if (avatarSource && !avatarMxc) {
      avatarMxc = await this.#uploadAvatar(mxid, avatarSource);
      if (avatarMxc) await this.call(() => client.setAvatarUrl(avatarMxc ?? ''));
    } else if (!avatarSource && known?.avatarMxc) {
      await this.call(() => client.setAvatarUrl(''));
    }
    const doc: Record<string, string> = { userId: user.id, mxid, displayName };
    const unset: Record<string, 1> = {};
    if (avatarSource) doc.avatarSource = avatarSource;
    else unset.avatarSource = 1;
    if (avatarMxc) doc.avatarMxc = avatarMxc;
    else unset.avatarMxc = 1;
    await this.#o.models.users.updateOne(
      { userId: user.id },
      Object.keys(unset).length > 0 ? { $set: doc, $unset: unset } : { $set: doc },
      { upsert: true },
    );
    return mxid;
  }

  /** Registers `@ucc_<extension>` in our exclusive namespace; an account that already exists is fine. */
  async #register(extension: string): Promise<void> {
    try {
      await this.request(undefined, Method.Post, '/register', undefined, {
        type: 'm.login.application_service',
        username: `${APPSERVICE_USER_PREFIX}${extension}`,
        inhibit_login: true,
      });
    } catch (err) {
      if (matrixErrcode(err) === 'M_USER_IN_USE') return;
      throw err;
    }
  }

  /** mxc:// avatars are used as they are; http(s) ones are fetched once and put in the media repository. */
  async #uploadAvatar(mxid: string, source: string): Promise<string | undefined> {
    if (source.startsWith('mxc://')) return source;
    try {
      const response = await fetch(source, { signal: AbortSignal.timeout(5_000), redirect: 'follow' });
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok || !type.startsWith('image/'))
        throw new Error(`avatar answered ${response.status} ${type}`);
      const data = new Uint8Array(await response.arrayBuffer());
      if (data.byteLength > AVATAR_MAX_BYTES) throw new Error('avatar too large');
      const uploaded = await this.call(() => this.client(mxid).uploadContent(data, { type, name: 'avatar' }));
      return uploaded.content_uri;
    } catch (err) {
      this.#logger.warn({ mxid, err: describe(err) }, 'avatar not set');
      return undefined;
    }
  }

  /** A disabled (or deleted) colleague leaves every room and is shown as disabled. */
  async retire(user: PublicUser): Promise<void> {
    const mxid = this.mxidOf(user.extension);
    await this.#register(user.extension);
    const client = this.client(mxid);
    // The mark first, while still in the rooms: their member lists and the leave itself then show it.
    const displayName = MatrixBridge.displayNameOf({ ...user, disabled: true });
    await this.call(() => client.setDisplayName(displayName));
    const { joined_rooms: rooms } = await this.call(() => client.getJoinedRooms());
    for (const roomId of rooms) {
      await this.call(() => client.leave(roomId));
    }
    await this.#o.models.users.updateOne(
      { userId: user.id },
      { $set: { userId: user.id, mxid, displayName } },
      { upsert: true },
    );
    this.#logger.info({ mxid, rooms: rooms.length }, 'Matrix account retired');
  }

  /** Every active user provisioned and every disabled one retired: fixes drift from while we were down. */
  async reconcile(): Promise<void> {
    const docs = await this.#o.users.find({}, { passwordHash: 0, preferences: 0, search: 0 }).lean();
    let failed = 0;
    let lastError: unknown;
    await forEachLimit(docs, RECONCILE_CONCURRENCY, async (doc) => {
      if (this.#closed) return;
      const user = toPublicUser(doc);
      try {
        if (user.disabled) await this.#reconcileDisabled(user);
        else await this.ensureUser(user, true);
      } catch (err) {
        failed++;
        lastError = err;
      }
    });
    if (failed > 0) {
      this.#logger.warn(
        { users: docs.length, failed, err: describe(lastError) },
        'reconciliation incomplete',
      );
    } else {
      this.#logger.info({ users: docs.length }, 'directory reconciled with Matrix');
    }
  }

  async #reconcileDisabled(user: PublicUser): Promise<void> {
    const known = await this.#o.models.users.findOne({ userId: user.id }).lean();
    if (known?.displayName === MatrixBridge.displayNameOf(user)) return;
    await this.retire(user);
  }

  #subscribe(): () => void {
    const events = this.#o.events;
    const run = (what: string, user: PublicUser, work: () => Promise<unknown>): void => {
      if (this.#closed) return;
      work().catch((err: unknown) => {
        // The directory change is saved; the next start-up reconciliation or use will provision again.
        this.#logger.warn(
          { userId: user.id, err: describe(err) },
          `Matrix provisioning after ${what} failed`,
        );
      });
    };
    const created = (user: PublicUser): void => run('user.created', user, () => this.ensureUser(user));
    const updated = (user: PublicUser, changed: string[]): void => {
      if (changed.some((f) => ['firstName', 'lastName', 'avatarUrl'].includes(f)) && !user.disabled) {
        run('user.updated', user, () => this.ensureUser(user));
      }
    };
    const disabled = (user: PublicUser): void => run('user.disabled', user, () => this.retire(user));
    const enabled = (user: PublicUser): void => run('user.enabled', user, () => this.ensureUser(user, true));
    const deleted = (user: PublicUser): void =>
      run('user.deleted', user, () => this.retire({ ...user, disabled: true }));
    events.on('user.created', created);
    events.on('user.updated', updated);
    events.on('user.disabled', disabled);
    events.on('user.enabled', enabled);
    events.on('user.deleted', deleted);
    return () => {
      events.off('user.created', created);
      events.off('user.updated', updated);
      events.off('user.disabled', disabled);
      events.off('user.enabled', enabled);
      events.off('user.deleted', deleted);
    };
  }

  // --- inbound (the application-service API Synapse calls) ---

  /**
   * The routes Synapse calls, mounted at the app's root; errors answer in Matrix's `{ errcode, error }`. The
   * hs_token is checked before any body is read; only transactions have one.
   */
  /**
   * Asks the homeserver to ping us (the appservice ping, Matrix 1.7). Besides proving that it reaches our URL, a
   * successful ping makes Synapse send at once the transactions it kept for us while we were away, instead of
   * waiting out its backoff (which grows to 8.5 minutes): without it, chat stays silent for minutes after a restart.
   */
  async pingHomeserver(): Promise<void> {
    const { homeserverUrl, asToken } = this.#o.endpoint;
    const url = `${homeserverUrl}/_matrix/client/v1/appservice/${encodeURIComponent(APPSERVICE_ID)}/ping`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${asToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ transaction_id: randomUUID() }),
      signal: AbortSignal.timeout(this.#o.requestTimeoutMs ?? 15_000),
    });
    if (!res.ok) throw new Error(`the homeserver's ping answered ${res.status}: ${await res.text()}`);
  }

  router(body: { limitBytes: number; maxDepth: number }): Router {
    const router = express.Router();
    const prefix = '/_matrix/app/v1';
    // Keys named __proto__ (a Matrix user may put one in an event) are dropped, not refused: Synapse would
    // resend a refused transaction forever.
    const transactionBody = jsonBody({ ...body, protoKeys: 'drop' });
    router.use('/_matrix/app', this.#verifyHsToken);
    router.put(`${prefix}/transactions/:txnId`, transactionBody, async (req, res) => {
      await this.#transaction(String(req.params.txnId), req.body);
      res.json({});
    });
    router.get(`${prefix}/users/:userId`, async (req, res) => {
      const extension = this.extensionOf(String(req.params.userId));
      const doc = extension ? await this.#o.users.findOne({ extension, disabled: false }).lean() : null;
      if (!doc) throw new AppserviceError(404, 'M_NOT_FOUND', 'No such directory user');
      await this.ensureUser(toPublicUser(doc));
      res.json({});
    });
    router.get(`${prefix}/rooms/:alias`, () => {
      throw new AppserviceError(404, 'M_NOT_FOUND', 'Rooms are not created on demand');
    });
    router.post(`${prefix}/ping`, (_req, res) => {
      res.json({});
    });
    router.use('/_matrix/app', () => {
      throw new AppserviceError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    });
    const errors: ErrorRequestHandler = (err: unknown, req, res, next) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      const known = err instanceof AppserviceError ? err : undefined;
      const appError = known ?? matrixClientError(err) ?? toAppError(err);
      if (appError.status >= 500) this.#logger.error({ err, path: req.path }, 'appservice request failed');
      const errcode = appError instanceof AppserviceError ? appError.errcode : 'M_UNKNOWN';
      res.status(appError.status).json({ errcode, error: appError.message });
    };
    router.use('/_matrix/app', errors);
    return router;
  }

  /** Synapse authenticates with the hs_token, as a bearer header (current spec) or `?access_token` (legacy). */
  readonly #verifyHsToken: RequestHandler = (req, _res, next) => {
    const token = presentedToken(req);
    if (token === undefined) throw new AppserviceError(401, 'M_UNAUTHORIZED', 'No hs_token');
    if (!sameSecret(token, this.#o.endpoint.hsToken)) {
      throw new AppserviceError(403, 'M_FORBIDDEN', 'Bad hs_token');
    }
    next();
  };

  /**
   * Handles a transaction once, and acknowledges it only when it was handled. It is claimed in the database first
   * as `pending` (a unique _id), handled, then marked `done`; Synapse gets its 200 only after that, and resends
   * until it does.
   *
   * - A replay of a done transaction, even after our restart, is acknowledged and ignored.
   * - A handler that throws releases the claim, and the error answer makes Synapse retry.
   * - A process that dies mid-way leaves the claim pending: Synapse's retry takes it over once its lease
   *   (`txnLeaseMs`) ran out, and until then answers 503 so Synapse keeps trying. The same transaction arriving
   *   again while this process still handles it waits for that handling instead.
   * - Each room event is marked handled once every handler finished with it, and a transaction handled again skips
   *   marked events: after a crash only the event that was in flight is handled a second time.
   *
   * The claim is the txnId *and* a digest of the transaction's event ids. Synapse on SQLite numbers transactions
   * from the highest one still pending, so after a Synapse restart it starts again at 1: a txnId alone would make
   * the bridge drop every new transaction as a "replay". A real replay carries the same events (re-serialized,
   * so only their ids are compared); a reused txnId with new events is a new transaction.
   *
   * Ephemeral data (typing, receipts) is handled after the room events, so a receipt for a message of the same
   * transaction finds it in the cache.
   */
  async #transaction(txnId: string, body: unknown): Promise<void> {
    const parsed = transactionSchema.safeParse(body);
    if (!parsed.success) throw new AppserviceError(400, 'M_BAD_JSON', 'A transaction needs an events list');
    const rawEphemeral = parsed.data.ephemeral ?? parsed.data['de.sorunome.msc2409.ephemeral'] ?? [];
    const claim = `${txnId}:${transactionDigest(parsed.data.events, rawEphemeral)}`;
    const running = this.#runningTxns.get(claim);
    if (running) return running;
    const attempt = this.#handleTransaction(txnId, claim, parsed.data.events, rawEphemeral).finally(() => {
      this.#runningTxns.delete(claim);
    });
    this.#runningTxns.set(claim, attempt);
    return attempt;
  }

  async #handleTransaction(
    txnId: string,
    claim: string,
    rawEvents: unknown[],
    rawEphemeral: unknown[],
  ): Promise<void> {
    if (!(await this.#claim(txnId, claim))) return;
    const events: MatrixRoomEvent[] = [];
    for (const raw of rawEvents) {
      const event = roomEventSchema.safeParse(raw);
      if (event.success) events.push(event.data);
      else this.#logger.warn({ txnId }, 'malformed event in a transaction skipped');
    }
    try {
      await this.#handleEvents(events);
    } catch (err) {
      await this.#o.models.txns
        .deleteOne({ _id: claim, state: 'pending', owner: this.#instance })
        .catch((releaseErr: unknown) => {
          // The lease lets Synapse's retry take the claim over anyway.
          this.#logger.warn({ txnId, err: describe(releaseErr) }, 'transaction claim not released');
        });
      throw err;
    }
    const ephemeral = parseEphemeral(rawEphemeral);
    if (ephemeral.skipped > 0) {
      this.#logger.warn(
        { txnId, skipped: ephemeral.skipped },
        'malformed ephemeral data in a transaction skipped',
      );
    }
    if (ephemeral.events.length > 0) {
      for (const handler of this.#ephemeralHandlers) {
        try {
          await handler(ephemeral.events);
        } catch (err) {
          // Releasing the claim would only replay the room events: Synapse's retry carries no ephemeral data.
          this.#logger.warn({ txnId, err: describe(err) }, 'typing or receipts of a transaction not handled');
        }
      }
    }
    await this.#o.models.txns.updateOne(
      { _id: claim },
      { $set: { state: 'done', at: new Date(this.#o.clock.now()) }, $unset: { owner: 1 } },
    );
  }

  /**
   * Claims a transaction for this process: true when it is ours to handle, false when it was already done. A
   * pending claim of another owner is taken over once its lease ran out (compare-and-set on owner and time, so
   * of two takers one wins); before that, or when the other taker won, Synapse is told to come back later.
   */
  async #claim(txnId: string, claim: string): Promise<boolean> {
    const now = this.#o.clock.now();
    try {
      await this.#o.models.txns.create({
        _id: claim,
        state: 'pending',
        owner: this.#instance,
        at: new Date(now),
      });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const known = await this.#o.models.txns.findOne({ _id: claim }).lean();
    if (!known) throw new AppserviceError(503, 'M_UNKNOWN', 'Transaction being released; retry');
    if (known.state !== 'pending') {
      this.#logger.debug({ txnId }, 'transaction replay ignored');
      return false;
    }
    const leaseMs = this.#o.txnLeaseMs ?? DEFAULT_TXN_LEASE_MS;
    if (now - new Date(known.at).getTime() < leaseMs) {
      throw new AppserviceError(503, 'M_UNKNOWN', 'Transaction being handled; retry');
    }
    const taken = await this.#o.models.txns.updateOne(
      { _id: claim, state: 'pending', owner: known.owner, at: known.at },
      { $set: { owner: this.#instance, at: new Date(now) } },
    );
    if (taken.modifiedCount !== 1)
      throw new AppserviceError(503, 'M_UNKNOWN', 'Transaction being handled; retry');
    this.#logger.warn({ txnId }, 'transaction left pending (its handler stopped) taken over');
    return true;
  }

  /**
   * The room events, one at a time through every handler, skipping those already handled and marking each once
   * all handlers finished with it.
   */
  async #handleEvents(events: MatrixRoomEvent[]): Promise<void> {
    if (events.length === 0) return;
    const ids = events.map((e) => e.event_id);
    const done = new Set(
      (await this.#o.models.handledEvents.find({ _id: { $in: ids } }, { _id: 1 }).lean()).map((d) => d._id),
    );
    for (const event of events) {
      if (done.has(event.event_id)) continue;
      for (const handler of this.#handlers) await handler([event]);
      try {
        await this.#o.models.handledEvents.create({ _id: event.event_id, at: new Date(this.#o.clock.now()) });
      } catch (err) {
        // The same event twice in one transaction, or handled meanwhile by a taker of this transaction.
        if (!isDuplicateKey(err)) throw err;
      }
      done.add(event.event_id);
    }
  }
}

/**
 * The typing and receipt events Synapse pushed, checked and flattened. Other types (presence, which our Synapse
 * has off) are left out silently; malformed typing or receipts are counted.
 */
function parseEphemeral(raw: unknown[]): { events: MatrixEphemeral[]; skipped: number } {
  const events: MatrixEphemeral[] = [];
  let skipped = 0;
  for (const item of raw) {
    const type = asRecord(item)?.type;
    if (type === 'm.typing') {
      const typing = typingEventSchema.safeParse(item);
      if (typing.success) {
        events.push({ type, roomId: typing.data.room_id, userIds: typing.data.content.user_ids });
      } else skipped++;
    } else if (type === 'm.receipt') {
      const receipt = receiptEventSchema.safeParse(item);
      if (!receipt.success) {
        skipped++;
        continue;
      }
      const receipts: MatrixReceipt[] = [];
      for (const [eventId, byType] of Object.entries(receipt.data.content)) {
        for (const [receiptType, byUser] of Object.entries(byType)) {
          for (const [userId, data] of Object.entries(byUser)) {
            const entry: MatrixReceipt = { eventId, receiptType, userId };
            if (data.ts !== undefined) entry.ts = data.ts;
            if (data.thread_id !== undefined) entry.threadId = data.thread_id;
            receipts.push(entry);
          }
        }
      }
      events.push({ type, roomId: receipt.data.room_id, receipts });
    }
  }
  return { events, skipped };
}

/** A refused media download as our error: unknown media is NOT_FOUND; Synapse failing is CHAT_UNAVAILABLE. */
function mediaError(status: number, errcode: string | undefined, thumbnail: boolean): AppError {
  if (status === 404 || errcode === 'M_NOT_FOUND') return new NotFoundError('No such file');
  // Synapse answers 400 when it has no thumbnail of the media (not an image, or one it could not scale): the
  // request was fine, the thumbnail does not exist.
  if (thumbnail && status === 400) return new NotFoundError('No thumbnail of this file');
  if (status === 403) return new ForbiddenError('Not allowed to download this file');
  if (status >= 500 || status === 429) return new ChatUnavailableError();
  if (status === 400) {
    return new ValidationError('Invalid request', [
      { path: 'mediaId', message: `the homeserver refused it (${errcode ?? status})` },
    ]);
  }
  // 401 and the like: the bridge's own credentials were refused, a fault of ours.
  return new AppError(500, 'INTERNAL', 'Internal server error');
}

/**
 * What identifies a transaction's content across re-sends: its events' ids, in order. Synapse's retry of a
 * transaction carries its events but not its ephemeral data, so the ephemeral data counts only when there are no
 * events (else a retry would not be recognised). Without it, after a Synapse restart (see #transaction) a new
 * transaction of typing or receipts alone would pass for an old one that reused its txnId.
 */
function transactionDigest(events: unknown[], ephemeral: unknown[]): string {
  const ids = events.map((e) =>
    typeof e === 'object' && e !== null && 'event_id' in e && typeof e.event_id === 'string'
      ? e.event_id
      : '',
  );
  const identity = ids.length > 0 ? JSON.stringify(ids) : JSON.stringify(['ephemeral', ephemeral]);
  return createHash('sha256').update(identity).digest('base64url').slice(0, 22);
}

function presentedToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '';
  const query: unknown = req.query.access_token;
  return typeof query === 'string' ? query : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A short description for logs: never the request (its URL or headers could carry a token). */
function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** An object, as opposed to an array or a primitive; Matrix JSON is checked field by field from here. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A room event with the fields every handler relies on. */
export function isRoomEvent(value: unknown): value is MatrixRoomEvent {
  const e = asRecord(value);
  return (
    typeof e?.type === 'string' &&
    typeof e.event_id === 'string' &&
    typeof e.sender === 'string' &&
    typeof e.room_id === 'string' &&
    typeof e.origin_server_ts === 'number' &&
    asRecord(e.content) !== undefined
  );
}

/** A path segment of a Matrix API URL. */
export function enc(segment: string): string {
  return encodeURIComponent(segment);
}
