import { randomUUID } from 'node:crypto';
import { MatrixClient, type Method } from 'matrix-js-sdk';
import type { z } from 'zod';
import {
  AppError,
  ChatUnavailableError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../errors.js';
import type { Logger } from '../../logger.js';
import { fileNameOf } from '../fileHeaders.js';
import { APPSERVICE_ID, type MatrixEndpoint } from './appservice.js';
import { asRecord } from './matrixEvents.js';
import { toChatError } from './matrixErrors.js';
import { sdkLogger } from './sdkLogger.js';

/** A file from the media repository, its body still to be read. */
export interface MediaDownload {
  contentType: string;
  /** As Synapse declared it, when it did. */
  contentLength?: number;
  /** The name it was uploaded with, when it had one. */
  fileName?: string;
  body: ReadableStream<Uint8Array>;
}

export interface MatrixClientsOptions {
  endpoint: MatrixEndpoint;
  /** The bridge's sender, whom a call without a user acts as. */
  botMxid: string;
  logger: Logger;
  /** Bound on every homeserver call, so a hung Synapse becomes CHAT_UNAVAILABLE instead of a stuck request. */
  requestTimeoutMs?: number;
}

const MAX_CACHED_CLIENTS = 500;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** The thumbnail size asked of Synapse: one of its default precomputed sizes, so it never scales on demand. */
const THUMBNAIL = { width: '640', height: '480', method: 'scale' } as const;

/**
 * The homeserver's client API as the application service uses it: one matrix-js-sdk client per user (the as_token,
 * masquerading with `?user_id=`), a bounded wait on every call, and failures turned into our errors.
 */
export class MatrixClients {
  readonly #o: MatrixClientsOptions;
  readonly #clients = new Map<string, MatrixClient>();
  readonly #timeoutMs: number;

  constructor(options: MatrixClientsOptions) {
    this.#o = options;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  close(): void {
    for (const client of this.#clients.values()) client.stopClient();
    this.#clients.clear();
  }

  /**
   * A matrix-js-sdk client acting as `mxid` (or as the bridge's sender). matrix-js-sdk's `queryParams` option is
   * not applied to requests in this version, so the masquerading `user_id` is added by the client's fetch.
   */
  client(mxid?: string): MatrixClient {
    const key = mxid ?? this.#o.botMxid;
    const cached = this.#clients.get(key);
    if (cached) {
      // Least recently used goes first: re-insert on use.
      this.#clients.delete(key);
      this.#clients.set(key, cached);
      return cached;
    }
    const { homeserverUrl, asToken } = this.#o.endpoint;
    const timeoutMs = this.#timeoutMs;
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
      logger: sdkLogger(this.#o.logger),
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

  /**
   * A client-server request as `mxid` (or the bridge), for endpoints matrix-js-sdk has no method for; the answer
   * is checked against `schema` (a homeserver answering something else is CHAT_UNAVAILABLE, not a crash later).
   */
  async request<S extends z.ZodType>(
    mxid: string | undefined,
    method: Method,
    path: string,
    schema: S,
    options: { query?: Record<string, string>; body?: object } = {},
  ): Promise<z.infer<S>> {
    const answer = await this.call(() =>
      this.client(mxid).http.authedRequest<unknown>(method, path, options.query, options.body),
    );
    const parsed = schema.safeParse(answer);
    if (!parsed.success) {
      this.#o.logger.warn({ method, path: path.split('/')[1] }, 'unexpected answer from the homeserver');
      throw new ChatUnavailableError();
    }
    return parsed.data;
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
      this.#timeoutMs,
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

  /**
   * Asks the homeserver to ping us (the appservice ping, Matrix 1.7). Besides proving that it reaches our URL, a
   * successful ping makes Synapse send at once the transactions it kept for us while we were away, instead of
   * waiting out its backoff (which grows to 8.5 minutes): without it, chat stays silent for minutes after a restart.
   */
  async pingHomeserver(): Promise<void> {
    const { homeserverUrl, asToken } = this.#o.endpoint;
    const url = `${homeserverUrl}/_matrix/client/v1/appservice/${enc(APPSERVICE_ID)}/ping`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${asToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ transaction_id: randomUUID() }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (!res.ok) throw new Error(`the homeserver's ping answered ${res.status}: ${await res.text()}`);
  }
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
  return AppError.of('INTERNAL', 'Internal server error');
}

/** A path segment of a Matrix API URL. */
export function enc(segment: string): string {
  return encodeURIComponent(segment);
}
